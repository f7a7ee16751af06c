import EpisodicMemory
import Foundation

/// The OpenAPI 3.1 document of the API, built from the same route table as the router.
enum OpenAPIDocument {
    static func make(routes: [APIRoute], configuration: APIConfiguration) -> [String: Any] {
        let limits = EpisodeLimits()
        var paths: [String: [String: Any]] = [:]
        for route in routes {
            var parameters: [[String: Any]] = route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { segment in
                [
                    "name": String(segment.dropFirst().dropLast()), "in": "path", "required": true,
                    "description": "percent-encoded UTF-8; no control characters, no leading or trailing whitespace",
                    "schema": ["type": "string", "minLength": 1, "maxLength": limits.maxIdentifierBytes],
                ]
            }
            parameters += route.queryParameters.map {
                ["name": $0.name, "in": "query", "required": false, "description": $0.description, "schema": $0.schema.mapValues(\.any)]
            }
            let contentType =
                switch route.responseSchema {
                case "PrometheusText": "text/plain"
                case "ExportLines": "application/x-ndjson"
                default: "application/json"
                }
            var responses: [String: Any] = [
                "\(route.successStatus)": ["description": "success", "content": [contentType: ["schema": ref(route.responseSchema)]]]
            ]
            if let status = route.alternateSuccessStatus {
                responses["\(status)"] = [
                    "description": "success, nothing new stored", "content": [contentType: ["schema": ref(route.responseSchema)]],
                ]
            }
            var errors = route.errors
            let secured = configuration.authentication == .required && route.path != "/health"
            if secured { errors = Array(Set(errors + [401, 403])).sorted() }
            for status in errors {
                // A malformed MCP message is answered by the MCP transport, as JSON-RPC (an integer
                // error code); everything else by this API's error shape.
                let schema = route.responseSchema == "JSONRPCMessage" && status == 400 ? "JSONRPCMessage" : "Error"
                responses["\(status)"] = [
                    "description": errorDescriptions[status] ?? "error",
                    "content": ["application/json": ["schema": ref(schema)]],
                ]
            }
            var operation: [String: Any] = ["operationId": route.operationID, "summary": route.summary, "responses": responses]
            if secured { operation["security"] = [["bearer": [String]()]] }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            if let request = route.requestSchema {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": ref(request)]]]
            }
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "EpisodicMemory", "version": "1.0.0",
                "description":
                    "Fast, local episodic memory for AI agents with two-stage retrieval. Errors are {\"error\": {\"code\", \"message\"}}; unknown request fields are refused.",
            ],
            "paths": paths,
            "components": [
                "schemas": schemas(configuration, limits),
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "an API key from `episodic keys create`"]
                ],
            ],
        ]
    }

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static let errorDescriptions: [Int: String] = [
        400: "malformed JSON, invalid fields or an unknown filter operator", 404: "unknown episode or agent",
        401: "no valid API key (missing, unknown, revoked or expired: one answer for all)",
        403: "the key does not cover the agent, is read-only, or is not an admin key",
        409: "the id is taken by an episode with other content (or the episode changed meanwhile)", 415: "the body is not application/json",
        413: "body, batch or text over the limit", 422: "a vector of the wrong dimension or with NaN/∞",
        503: "a required model cannot be loaded",
    ]

    static func query(_ limits: EpisodeLimits) -> [String: Any] {
        ["type": "string", "minLength": 1, "maxLength": limits.maxTextBytes, "description": "not only whitespace"]
    }

    static var string: [String: Any] { ["type": "string"] }
    static var nullableString: [String: Any] { ["type": ["string", "null"]] }
    static var number: [String: Any] { ["type": "number"] }
    static var nullableNumber: [String: Any] { ["type": ["number", "null"]] }

    static func episodeInput(_ limits: EpisodeLimits) -> [String: Any] {
        let identifier: [String: Any] = ["type": "string", "minLength": 1, "maxLength": limits.maxIdentifierBytes]
        let text: [String: Any] = [
            "type": "string", "minLength": 1, "maxLength": limits.maxTextBytes,
            "description": "not only whitespace, no NUL character; maxLength counts UTF-8 bytes",
        ]
        return [
            "type": "object", "additionalProperties": false, "required": ["content"],
            "properties": [
                "id": identifier.merging(["description": "unique within the agent; default: a new UUID"]) { $1 },
                "agent_id": identifier.merging(["description": "must equal the path's"]) { $1 },
                "content": text, "summary": text.merging(["description": "embedded instead of the content when given"]) { $1 },
                "metadata": [
                    "type": "object",
                    "description":
                        "any JSON object, nested at most \(limits.maxMetadataDepth) levels, at most \(limits.maxMetadataBytes) bytes; numbers round-trip exactly",
                ],
                "created_at": date, "updated_at": date.merging(["description": "default: created_at; an export carries it"]) { $1 },
                "dedup": [
                    "type": "boolean", "default": false,
                    "description":
                        "return the agent's episode with the same normalised content (NFKC, case, white space) instead of adding another",
                ],
                "vectors": [
                    "type": "object", "description": "column name → array of numbers of the column's dimension; computed when absent",
                    "propertyNames": ["enum": [VectorColumn.defaultFastName, VectorColumn.defaultQualityName]],
                    "additionalProperties": ["type": "array", "items": number],
                ],
            ],
        ]
    }

    static var date: [String: Any] {
        [
            "oneOf": [
                [
                    "type": "string", "format": "date-time",
                    "description": "RFC 3339, \(EpisodeTime.rangeDescription); kept to the millisecond",
                ],
                ["type": "number", "description": "Unix seconds"],
            ]
        ]
    }

    static var filter: [String: Any] {
        let scalar: [String: Any] = ["type": ["string", "number", "boolean", "null"]]
        return [
            "type": "object", "additionalProperties": false,
            "description": "every condition must hold; applied before each stage's top-k",
            "properties": [
                "metadata": [
                    "type": "object",
                    "description":
                        "top-level metadata key → a scalar (equality), {\"eq\": scalar} or {\"in\": [scalars]}; numbers compare by value; other operators are a 400",
                    "additionalProperties": [
                        "oneOf": [
                            scalar,
                            ["type": "object", "additionalProperties": false, "required": ["eq"], "properties": ["eq": scalar]],
                            [
                                "type": "object", "additionalProperties": false, "required": ["in"],
                                "properties": ["in": ["type": "array", "items": scalar, "maxItems": EpisodeFilter.maximumValuesPerKey]],
                            ],
                        ]
                    ],
                    "maxProperties": EpisodeFilter.maximumMetadataKeys,
                ],
                "created_after": date.merging(["description": "strictly after"]) { $1 },
                "created_before": date.merging(["description": "strictly before"]) { $1 },
                "exclude_ids": ["type": "array", "items": string, "maxItems": EpisodeFilter.maximumExcludedIDs],
            ],
        ]
    }

    static func schemas(_ configuration: APIConfiguration, _ limits: EpisodeLimits) -> [String: Any] {
        [
            "EpisodeFilter": filter,
            "JSONRPCMessage": ["type": "object", "description": "a JSON-RPC 2.0 message of the Model Context Protocol"],
            "AgentList": [
                "type": "object",
                "properties": [
                    "agents": [
                        "type": "array",
                        "items": ["type": "object", "properties": ["agent_id": string, "episodes": ["type": "integer"]]],
                    ]
                ],
            ],
            "KeyRequest": [
                "type": "object", "additionalProperties": false,
                "properties": [
                    "name": string, "agents": ["type": "array", "items": string], "agent_prefixes": ["type": "array", "items": string],
                    "read_only": ["type": "boolean"], "admin": ["type": "boolean"],
                    "expires_at": ["type": "string", "format": "date-time"],
                ],
            ],
            "Key": [
                "type": "object",
                "properties": [
                    "id": string, "name": string, "agents": ["type": "array", "items": string],
                    "agent_prefixes": ["type": "array", "items": string], "read_only": ["type": "boolean"], "admin": ["type": "boolean"],
                    "created_at": string, "last_used_at": nullableString, "expires_at": nullableString, "revoked_at": nullableString,
                ],
            ],
            "CreatedKey": [
                "type": "object",
                "properties": ["key": ref("Key"), "secret": ["type": "string", "description": "shown once: epm_<id>_<secret>"]],
            ],
            "KeyList": ["type": "object", "properties": ["keys": ["type": "array", "items": ref("Key")]]],
            "Revoked": ["type": "object", "properties": ["revoked": string]],
            "EpisodePatch": [
                "type": "object", "additionalProperties": false, "minProperties": 1,
                "properties": [
                    "content": ["type": "string", "minLength": 1, "maxLength": limits.maxTextBytes],
                    "summary": ["type": ["string", "null"], "description": "null removes the summary"],
                    "metadata": [
                        "type": "object", "description": "merged into the stored metadata (a key given null is removed), or replacing it",
                    ],
                    "metadata_mode": ["type": "string", "enum": ["merge", "replace"], "default": "merge"],
                ],
            ],
            "DeleteEpisodesRequest": [
                "type": "object", "additionalProperties": false, "required": ["filter"], "properties": ["filter": ref("EpisodeFilter")],
            ],
            "DeletedCount": [
                "type": "object", "properties": ["deleted": ["type": "integer"], "compacted": ["type": "boolean"]],
            ],
            "ExportLines": ["type": "string", "description": "one Episode object per line (with \"vectors\" when asked)"],
            "Error": [
                "type": "object", "required": ["error"],
                "properties": [
                    "error": ["type": "object", "required": ["code", "message"], "properties": ["code": string, "message": string]]
                ],
            ],
            "EpisodeInput": episodeInput(limits),
            "AddEpisodesRequest": [
                "oneOf": [
                    ref("EpisodeInput"),
                    [
                        "type": "object", "additionalProperties": false, "required": ["episodes"],
                        "properties": [
                            "episodes": [
                                "type": "array", "minItems": 1, "maxItems": configuration.maxBatchSize, "items": ref("EpisodeInput"),
                            ]
                        ],
                    ],
                ]
            ],
            "AddEpisodesResponse": [
                "type": "object",
                "properties": [
                    "ids": ["type": "array", "items": string],
                    "created": ["type": "array", "items": ["type": "boolean"], "description": "per episode: added by this request"],
                    "episode": ref("Episode"),
                ],
            ],
            "Episode": [
                "type": "object",
                "properties": [
                    "id": string, "agent_id": string, "content": string, "summary": nullableString, "metadata": ["type": "object"],
                    "created_at": string, "updated_at": string, "embedding_cached": ["type": "boolean"],
                    "embedding_cached_at": nullableString,
                    "fastembed_cached": ["type": "boolean"], "fastembed_cached_at": nullableString,
                ],
            ],
            "EpisodePage": [
                "type": "object",
                "properties": [
                    "episodes": ["type": "array", "items": ref("Episode")], "next_cursor": nullableString,
                ],
            ],
            "Deleted": ["type": "object", "properties": ["deleted": string]],
            "RetrieveHybridRequest": [
                "type": "object", "additionalProperties": false, "required": ["query"],
                "properties": [
                    "query": query(limits), "coarse_top_k": ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100],
                    "rerank_top_k": [
                        "type": "integer", "minimum": 0, "maximum": 1000, "default": 50,
                        "description": "at most coarse_top_k",
                    ],
                    "use_reranking": ["type": "boolean", "default": true], "lexical": ["type": "boolean", "default": true],
                    "limit": ["type": "integer", "minimum": 1, "maximum": 1000, "description": "results returned (default: coarse_top_k)"],
                    "filter": ref("EpisodeFilter"),
                    "recency_half_life": [
                        "oneOf": [
                            ["type": "string", "pattern": "^[0-9.]+[mhdw]$", "examples": ["36h", "7d"]],
                            ["type": "number", "exclusiveMinimum": 0, "description": "hours"],
                        ],
                        "description": "prefer recent episodes: each score × (1 − w + w·2^(−age/half-life)); none by default",
                    ],
                    "recency_weight": ["type": "number", "minimum": 0, "maximum": 1, "default": 0.5],
                ],
            ],
            "RetrieveBaselineRequest": [
                "type": "object", "additionalProperties": false, "required": ["query"],
                "properties": [
                    "query": query(limits), "top_k": ["type": "integer", "minimum": 1, "maximum": 1000, "default": 10],
                    "filter": ref("EpisodeFilter"),
                ],
            ],
            "RetrievalResponse": [
                "type": "object",
                "properties": [
                    "agent_id": string, "query": ["type": "string", "description": "the query, cut to its first 1000 characters"],
                    "query_truncated": ["type": "boolean"], "fallback_reason": nullableString,
                    "fallback_code": [
                        "type": ["string", "null"],
                        "enum": ["no_quality_column", "model_unavailable", "time_budget_exceeded", "rerank_failed", NSNull()],
                    ],
                    "results": [
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "episode": ref("Episode"),
                                "stage": ["type": "string", "enum": ["reranked", "coarse_fallback", "coarse_only"]],
                                "final_score": number, "coarse_score": number, "dense_score": nullableNumber,
                                "lexical_score": nullableNumber,
                                "rerank_score": nullableNumber,
                                "cross_encoder_score": [
                                    "type": ["number", "null"], "description": "the cross-encoder's logit, for the top N when one is installed",
                                ],
                                "recency_score": [
                                    "type": ["number", "null"], "description": "2^(−age/half-life) with a recency preference",
                                ],
                            ],
                        ],
                    ],
                    "timings_ms": [
                        "type": "object",
                        "properties": [
                            "query_embedding": number, "fast_embedding": number, "quality_embedding": number, "coarse": number,
                            "dense": number, "lexical": number, "rerank": number, "cross_encoder": number, "total": number,
                        ],
                    ],
                ],
            ],
            "Health": ["type": "object", "properties": ["status": string, "store": ["type": "object"], "models": ["type": "object"]]],
            "PrometheusText": ["type": "string"],
            "OpenAPIDocument": ["type": "object"],
        ]
    }
}
