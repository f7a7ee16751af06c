import Foundation
import Testing

/// `episodic embed` through a real process: JSON lines in, JSON lines out, bad lines refused.
@Suite struct EmbedCommandTests {
    @Test func embedsEachLineKeepingTheID() async throws {
        let input = """
            {"id": 1, "text": "The agent booked a flight to Lisbon."}
            {"id": "b-2", "text": "The user prefers window seats."}

            {"id": {"n": 3}, "text": ""}
            """
        let result = try await CLIRunner.run(["embed"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.count == 3)
        #expect(lines[0]["id"] as? Int == 1)
        #expect(lines[1]["id"] as? String == "b-2")
        #expect((lines[2]["id"] as? [String: Any])?["n"] as? Int == 3)
        for line in lines {
            let vector = (line["embedding"] as! [Double])
            #expect(vector.count == 384)
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
    }

    /// The int8 kernel is chosen from cpuid at start; EPISODIC_CPU_FEATURES narrows the choice. Every
    /// kernel sums the same integers, so forcing the AVX2 or the portable path on a CPU with AVX-512
    /// VNNI gives the same vectors, bit for bit. bf16 without its hardware sums in another order, which
    /// can flip the rounding of a later layer's bf16 input: the same vector to cosine 0.99999.
    @Test func forcingAnotherCPUPathGivesTheSameVectors() async throws {
        let input = """
            {"id": 1, "text": "The agent booked a flight to Lisbon, seat 14A."}
            {"id": 2, "text": "Paid the electricity bill, 87.40 EUR, on the 3rd."}
            """
        let fastest = try await CLIRunner.run(["embed", "--precision", "int8"], stdin: input)
        let avx2 = try await CLIRunner.run(["embed", "--precision", "int8"], stdin: input, environment: ["EPISODIC_CPU_FEATURES": "avx2"])
        let portable = try await CLIRunner.run(
            ["embed", "--precision", "int8"], stdin: input, environment: ["EPISODIC_CPU_FEATURES": "none"])
        for run in [fastest, avx2, portable] { #expect(run.status == 0, "\(run.stderr)") }
        #expect(fastest.stdout.split(separator: "\n").count == 2)
        // The option takes effect, before or after the subcommand: int8 is not fp32.
        let fp32 = try await CLIRunner.run(["embed", "--precision", "fp32"], stdin: input)
        let before = try await CLIRunner.run(["--precision", "int8", "embed"], stdin: input)
        #expect(fp32.status == 0 && fp32.stdout != fastest.stdout)
        #expect(before.stdout == fastest.stdout)
        #expect(avx2.stdout == fastest.stdout)
        #expect(portable.stdout == fastest.stdout)

        func vectors(_ text: String) -> [[Double]] {
            text.split(separator: "\n").map {
                (try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["embedding"] as! [Double]
            }
        }
        let bf16 = try await CLIRunner.run(["embed", "--precision", "bf16"], stdin: input)
        let bf16Portable = try await CLIRunner.run(
            ["embed", "--precision", "bf16"], stdin: input, environment: ["EPISODIC_CPU_FEATURES": "avx2"])
        #expect(bf16.status == 0 && bf16Portable.status == 0)
        for (a, b) in zip(vectors(bf16.stdout), vectors(bf16Portable.stdout)) {
            #expect(a.count == 384)
            let cosine = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(cosine >= 0.99999, "cosine \(cosine)")
        }
    }

    @Test func queryFlagChangesNothingForAModelWithoutPrompts() async throws {
        // all-MiniLM-L6-v2 has no query prompt: --query must give the same vector.
        let input = #"{"id": 1, "text": "where is the flight booking?"}"#
        let passage = try await CLIRunner.run(["embed"], stdin: input)
        let query = try await CLIRunner.run(["embed", "--query"], stdin: input)
        #expect(passage.status == 0 && query.status == 0)
        #expect(passage.stdout == query.stdout)
    }

    @Test func badLinesAreReportedByNumberAndNothingIsPrinted() async throws {
        let input = """
            {"id": 1, "text": "fine"}
            not json
            {"id": 3}
            {"text": "no id"}
            {"id": 5, "text": 42}
            """
        let result = try await CLIRunner.run(["embed"], stdin: input)
        #expect(result.status == 65)
        #expect(result.stdout.isEmpty)
        for fragment in [
            "line 2: not a JSON object", "line 3: \"text\" is missing", "line 4: \"id\" is missing",
            "line 5: \"text\" is missing or not a string",
        ] {
            #expect(result.stderr.contains(fragment), "\(result.stderr)")
        }
    }

    @Test func missingModelDirectoryIsAClearError() async throws {
        let result = try await CLIRunner.run(["embed", "--model", "/nonexistent/model"], stdin: #"{"id": 1, "text": "x"}"#)
        #expect(result.status == 66)
        #expect(result.stderr.contains("model directory not found: /nonexistent/model"))
        #expect(result.stderr.contains("scripts/setup.sh"))
    }

    @Test func invalidUTF8IsRefused() async throws {
        // {"id":1,"text":"<FF FE>"} — bytes no Swift string holds.
        let line = Data([
            0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x31, 0x2C, 0x22, 0x74, 0x65, 0x78, 0x74,
            0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A,
        ])
        let result = try await CLIRunner.run(["embed"], input: line)
        #expect(result.status == 65)
        #expect(result.stderr.contains("line 1: not valid UTF-8"))
    }
}
