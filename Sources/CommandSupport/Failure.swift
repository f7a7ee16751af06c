import ArgumentParser
import EpisodicMemory
import EpisodicWire
import Foundation

/// Exit codes of `episodic`, following sysexits(3) where one fits.
public enum ExitStatus {
    /// Bad input data: a malformed line, a wrong dimension.
    public static let dataError: Int32 = 65
    /// A file or model that is needed is missing.
    public static let noInput: Int32 = 66
    /// A service the command needs is unavailable (a model that fails to load, a busy database).
    public static let unavailable: Int32 = 69
    /// Anything else that went wrong.
    public static let failure: Int32 = 1
}

/// An error the tool reports as one line on stderr with a chosen exit status.
public struct Failure: Error, CustomStringConvertible {
    public var message: String
    public var status: Int32 = ExitStatus.failure
    public var description: String { message }

    public init(message: String, status: Int32 = ExitStatus.failure) {
        self.message = message
        self.status = status
    }
}

/// Writes a line to standard error.
public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs a command's body, turning known errors into a one-line message and an exit status.
public func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let failure as Failure {
        printError("error: \(failure.message)")
        throw ExitCode(failure.status)
    } catch let error as WireError {
        printError("error: \(error.message)")
        throw ExitCode(ExitStatus.dataError)
    } catch let error as EmbeddingError {
        printError("error: \(error)")
        switch error {
        case .modelDirectoryNotFound, .missingFile: throw ExitCode(ExitStatus.noInput)
        case .textTooLong: throw ExitCode(ExitStatus.dataError)
        default: throw ExitCode(ExitStatus.unavailable)
        }
    } catch let error as StoreError {
        printError("error: \(error)")
        switch error {
        case .storeNotFound, .episodeNotFound, .unknownAgent: throw ExitCode(ExitStatus.noInput)
        case .vector, .invalidEpisode, .textTooLarge, .duplicateEpisode, .conflictingEpisode, .invalidFilter, .notADatabase,
            .notAnEpisodeStore, .unknownMigration,
            .columnMismatch, .corruptEpisode, .reembedding:
            throw ExitCode(ExitStatus.dataError)
        case .schemaTooNew, .modelMismatch, .busy, .readOnly, .columnsChanged, .unavailable, .concurrentUpdate:
            throw ExitCode(ExitStatus.unavailable)
        }
    } catch let error as VectorError {
        printError("error: \(error)")
        throw ExitCode(ExitStatus.dataError)
    } catch let error as ModelFetchError {
        printError("error: \(error)")
        switch error {
        case .network, .httpStatus: throw ExitCode(ExitStatus.unavailable)
        default: throw ExitCode(ExitStatus.dataError)
        }
    } catch let error as RetrievalError {
        printError("error: \(error)")
        switch error {
        case .modelUnavailable, .noColumn: throw ExitCode(ExitStatus.unavailable)
        case .emptyQuery, .invalidParameter: throw ExitCode(ExitStatus.dataError)
        }
    }
}
