import Testing
@testable import PingerService

@Suite struct IMAPCertificateNameTests {
    @Test func exactAndWildcardNames() {
        #expect(IMAPCertificateName.matches(pattern: "imap.example.com", host: "IMAP.Example.com."))
        #expect(IMAPCertificateName.matches(pattern: "*.example.com", host: "imap.example.com"))
        #expect(!IMAPCertificateName.matches(pattern: "*.example.com", host: "a.b.example.com"))
        #expect(!IMAPCertificateName.matches(pattern: "*.example.com", host: "example.com"))
        #expect(!IMAPCertificateName.matches(pattern: "*.com", host: "example.com"))
        #expect(!IMAPCertificateName.matches(pattern: "localhost", host: "imap.example.com"))
        #expect(!IMAPCertificateName.matches(pattern: "", host: ""))
    }
}
