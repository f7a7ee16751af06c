/// The special tokens the post-processor of `tokenizer.json` puts around a single sequence and
/// around a pair (`TemplateProcessing`, `BertProcessing` or `RobertaProcessing`), with their token
/// type ids.
struct PostProcessor: Sendable {
    typealias Special = (id: Int32, typeID: Int32)
    var prefix: [Special] = []
    var suffix: [Special] = []
    var sequenceTypeID: Int32 = 0

    /// A pair `A, B` becomes `pairPrefix A pairMiddle B pairSuffix` (BERT: `[CLS] A [SEP] B [SEP]`,
    /// A's tokens of type 0, B's of type 1).
    var pairPrefix: [Special] = []
    var pairMiddle: [Special] = []
    var pairSuffix: [Special] = []
    var pairTypeIDs: (first: Int32, second: Int32) = (0, 1)

    var addedCount: Int { prefix.count + suffix.count }
    var pairAddedCount: Int { pairPrefix.count + pairMiddle.count + pairSuffix.count }

    init() {}

    init(json: [String: Any]) throws {
        let type = json["type"] as? String ?? ""
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"] as? [[String: Any]] else {
                throw EmbeddingError.invalidConfiguration(file: "tokenizer.json", reason: "TemplateProcessing without a single template")
            }
            let specials = json["special_tokens"] as? [String: [String: Any]] ?? [:]
            // The template's pieces in order: special tokens, and the sequences with their type ids.
            func pieces(_ template: [[String: Any]]) throws -> [(specials: [Special], sequence: Int32?)] {
                try template.map { piece in
                    if let special = piece["SpecialToken"] as? [String: Any] {
                        let name = special["id"] as? String ?? ""
                        let typeID = Int32(special["type_id"] as? Int ?? 0)
                        guard let ids = specials[name]?["ids"] as? [Int] else {
                            throw EmbeddingError.invalidConfiguration(
                                file: "tokenizer.json", reason: "template names special token \(name) without ids")
                        }
                        return (ids.map { (Int32($0), typeID) }, nil)
                    }
                    let sequence = piece["Sequence"] as? [String: Any]
                    return ([], Int32(sequence?["type_id"] as? Int ?? 0))
                }
            }
            var seenSequence = false
            for piece in try pieces(single) {
                if let type = piece.sequence { seenSequence = true; sequenceTypeID = type; continue }
                if seenSequence { suffix += piece.specials } else { prefix += piece.specials }
            }
            if let pair = json["pair"] as? [[String: Any]] {
                var sequences = 0
                for piece in try pieces(pair) {
                    if let type = piece.sequence {
                        if sequences == 0 { pairTypeIDs.first = type } else { pairTypeIDs.second = type }
                        sequences += 1
                        continue
                    }
                    switch sequences {
                    case 0: pairPrefix += piece.specials
                    case 1: pairMiddle += piece.specials
                    default: pairSuffix += piece.specials
                    }
                }
            } else {
                (pairPrefix, pairMiddle, pairSuffix) = (prefix, suffix, suffix.map { ($0.id, 1) })
            }
        case "BertProcessing", "RobertaProcessing":
            guard let cls = json["cls"] as? [Any], cls.count == 2, let clsID = cls[1] as? Int,
                let sep = json["sep"] as? [Any], sep.count == 2, let sepID = sep[1] as? Int
            else {
                throw EmbeddingError.invalidConfiguration(file: "tokenizer.json", reason: "\(type) without cls/sep")
            }
            prefix = [(Int32(clsID), 0)]
            suffix = [(Int32(sepID), 0)]
            if type == "BertProcessing" {
                (pairPrefix, pairMiddle, pairSuffix) = ([(Int32(clsID), 0)], [(Int32(sepID), 0)], [(Int32(sepID), 1)])
            } else { // RoBERTa: <s> A </s></s> B </s>, one token type
                (pairPrefix, pairMiddle, pairSuffix) = ([(Int32(clsID), 0)], [(Int32(sepID), 0), (Int32(sepID), 0)], [(Int32(sepID), 0)])
                pairTypeIDs = (0, 0)
            }
        default:
            throw EmbeddingError.unsupportedTokenizer(component: "post_processor \(type)")
        }
    }
}
