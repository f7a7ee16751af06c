/// The special tokens the post-processor of `tokenizer.json` puts around a single sequence
/// (`TemplateProcessing`, `BertProcessing` or `RobertaProcessing`), with their token type ids.
struct PostProcessor: Sendable {
    var prefix: [(id: Int32, typeID: Int32)] = []
    var suffix: [(id: Int32, typeID: Int32)] = []
    var sequenceTypeID: Int32 = 0

    var addedCount: Int { prefix.count + suffix.count }

    init() {}

    init(json: [String: Any]) throws {
        let type = json["type"] as? String ?? ""
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"] as? [[String: Any]] else {
                throw EmbeddingError.invalidConfiguration(file: "tokenizer.json", reason: "TemplateProcessing without a single template")
            }
            let specials = json["special_tokens"] as? [String: [String: Any]] ?? [:]
            var seenSequence = false
            for piece in single {
                if let special = piece["SpecialToken"] as? [String: Any] {
                    let name = special["id"] as? String ?? ""
                    let typeID = Int32(special["type_id"] as? Int ?? 0)
                    guard let ids = specials[name]?["ids"] as? [Int] else {
                        throw EmbeddingError.invalidConfiguration(
                            file: "tokenizer.json", reason: "template names special token \(name) without ids")
                    }
                    for id in ids {
                        if seenSequence { suffix.append((Int32(id), typeID)) } else { prefix.append((Int32(id), typeID)) }
                    }
                } else if let sequence = piece["Sequence"] as? [String: Any] {
                    seenSequence = true
                    sequenceTypeID = Int32(sequence["type_id"] as? Int ?? 0)
                }
            }
        case "BertProcessing", "RobertaProcessing":
            guard let cls = json["cls"] as? [Any], cls.count == 2, let clsID = cls[1] as? Int,
                let sep = json["sep"] as? [Any], sep.count == 2, let sepID = sep[1] as? Int
            else {
                throw EmbeddingError.invalidConfiguration(file: "tokenizer.json", reason: "\(type) without cls/sep")
            }
            prefix = [(Int32(clsID), 0)]
            suffix = [(Int32(sepID), 0)]
        default:
            throw EmbeddingError.unsupportedTokenizer(component: "post_processor \(type)")
        }
    }
}
