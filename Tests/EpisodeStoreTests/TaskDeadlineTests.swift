import EpisodeStore
import Foundation
import Testing

/// Waiting against a time budget: a store's bounded close and a retrieval's query embedding both
/// rely on it returning once the budget is spent, whether or not the task ever ends (a deadline
/// that waited for the task would run into the time limit and fail).
@Suite(.timeLimit(.minutes(5))) struct TaskDeadlineTests {
    @Test func aTaskDoneInTimeGivesItsValue() async {
        let task = Task { 42 }
        #expect(await TaskDeadline.value(of: task, within: 5_000) == 42)
        #expect(await TaskDeadline.value(of: task, within: nil) == 42)
    }

    @Test func aTaskThatDoesNotEndIsLeftAfterTheBudget() async {
        // Sleeps far longer than any test runs; the deadline does not cancel it.
        let stuck = Task { () -> Int in
            try? await Task.sleep(nanoseconds: 3_600_000_000_000)
            return 1
        }
        let start = Date()
        #expect(await TaskDeadline.value(of: stuck, within: 100) == nil)
        // Never before the budget. How long after it is the scheduler's business: the timer is a
        // task on the cooperative pool, which a full test run's CPU-bound tests keep busy (it
        // fired after a minute in one CI run), so no upper bound is asserted.
        let waited = Date().timeIntervalSince(start)
        #expect(waited >= 0.09, "gave up after \(waited) s")
        #expect(!stuck.isCancelled)
        #expect(await TaskDeadline.value(of: stuck, within: 0) == nil)
        stuck.cancel()
    }
}
