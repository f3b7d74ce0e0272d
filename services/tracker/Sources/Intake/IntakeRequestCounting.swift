import Hummingbird

/// Counts every intake request, and every refusal by its code: the one
/// place the tracker's request metrics are kept. Errors that are not an
/// `IntakeError` (a body that broke off) become a 400 here.
struct IntakeRequestCounting<Context: RequestContext>: RouterMiddleware {
    let metrics: TrackerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        metrics.requests.increment()
        if let retries = request.headers[CORSPolicy.retryCount].flatMap(Int.init), retries > 0 {
            metrics.retriedRequests.increment()
        }
        do {
            return try await next(request, context)
        } catch let error as IntakeError {
            metrics.rejected(error.code)
            throw error
        } catch {
            metrics.rejected(.invalidBody)
            throw IntakeError.invalidBody("\(error)")
        }
    }
}
