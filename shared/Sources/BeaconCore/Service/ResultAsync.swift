extension Result where Failure == any Error {
    /// Runs `body` and keeps its outcome, so clean-up can run before it is rethrown.
    public init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
