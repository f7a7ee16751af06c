import EpisodicMemory
import Foundation
import Hummingbird

extension EpisodicAPI {
    @Sendable func health(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let health = try await memory.health()
        var models: [String: JSONValue] = [:]
        for model in health.models {
            models[model.role.rawValue] = .object([
                "column": .string(model.column.name), "model_id": .string(model.column.modelID),
                "dimension": .number(JSONNumber(model.column.dimension)), "loaded": .bool(model.loaded),
            ])
        }
        if models["quality"] == nil { models["quality"] = .null }
        return .json(
            .object([
                "status": "ok",
                "store": .object(["backend": .string(health.backend), "open": true, "schema_version": .string(health.schemaVersion)]),
                "models": .object(models),
            ]))
    }

    @Sendable func metricsText(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let text = await metrics.render(memory: memory)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    @Sendable func openAPI(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let data = try JSONSerialization.data(
            withJSONObject: OpenAPIDocument.make(routes: routes, configuration: configuration),
            options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
