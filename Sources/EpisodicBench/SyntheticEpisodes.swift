/// Deterministic, varied agent-memory texts for benchmarks (and the quickstart's volume tests):
/// who did what to what, when and why, with ids and amounts, so that both BM25 and dense
/// retrieval have something to work with.
enum SyntheticEpisodes {
    static let subjects = [
        "The user", "Alice", "Bob", "The agent", "Dr. Chen", "The support bot", "Maria", "The planner",
        "Customer 4471", "The team lead", "Kenji", "The assistant",
    ]
    static let actions = [
        "booked a flight to", "asked about the refund policy for", "reported a bug in", "scheduled a meeting about",
        "paid the invoice for", "moved the deadline of", "cancelled the subscription to", "reviewed the contract for",
        "complained about the delay of", "requested a quote for", "approved the budget for", "shared notes on",
    ]
    static let objects = [
        "Lisbon", "the Q3 roadmap", "the checkout page", "the Berlin office", "project Apollo", "the mobile app",
        "the data pipeline", "the marketing campaign", "the Tokyo conference", "the hiring plan", "the API migration",
        "the vegetarian restaurant", "the annual report", "the server upgrade", "the onboarding flow", "Madrid",
    ]
    static let times = [
        "on Monday", "next Friday at 3pm", "in March", "yesterday evening", "before the holidays", "at 9am",
        "after lunch", "on the 14th", "last week", "tomorrow morning",
    ]
    static let reasons = [
        "because the weather turned bad", "after the outage", "to save costs", "at the client's request",
        "since the numbers changed", "to meet the new deadline", "after a long discussion", "without waiting for approval",
    ]

    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    /// `count` episode texts.
    static func episodes(_ count: Int, seed: UInt64 = 11) -> [String] {
        var g = Generator(state: seed)
        return (0..<count).map { i in
            "\(subjects[g.next(subjects.count)]) \(actions[g.next(actions.count)]) \(objects[g.next(objects.count)]) "
                + "\(times[g.next(times.count)]) \(reasons[g.next(reasons.count)]) (ticket \(1000 + i * 7 % 9000), €\(g.next(5000)))."
        }
    }

    /// `count` questions an agent might ask its memory.
    static func queries(_ count: Int, seed: UInt64 = 5) -> [String] {
        var g = Generator(state: seed)
        let forms = ["when did %s %s?", "what happened with %o?", "who %a %o?", "why did %s %a %o?", "anything about %o %t?"]
        return (0..<count).map { _ in
            var q = forms[g.next(forms.count)]
            q = q.replacingOccurrences(of: "%s", with: subjects[g.next(subjects.count)].lowercased())
            q = q.replacingOccurrences(of: "%a", with: actions[g.next(actions.count)])
            q = q.replacingOccurrences(of: "%o", with: objects[g.next(objects.count)])
            q = q.replacingOccurrences(of: "%t", with: times[g.next(times.count)])
            return q
        }
    }
}
