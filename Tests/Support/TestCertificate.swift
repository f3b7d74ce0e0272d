import Crypto
import Foundation
import NIOSSL
import X509

/// A throwaway certificate authority and a server certificate it signed, made
/// at test time, for TLS servers on 127.0.0.1. Clients trust `caPEM` (or
/// `trustRoots`); the server presents `certificateChain` with `privateKey`.
public struct TestCertificate: Sendable {
    /// The CA certificate in PEM: what a client adds to its trust roots.
    public let caPEM: String
    /// The server certificate in PEM (subject CN=localhost; SAN localhost and 127.0.0.1).
    public let serverPEM: String
    /// The server's private key in PEM (PKCS#8).
    public let serverKeyPEM: String

    public static func make(commonName: String = "localhost") throws -> TestCertificate {
        let now = Date()
        let notBefore = now.addingTimeInterval(-3600)
        let notAfter = now.addingTimeInterval(7 * 24 * 3600)

        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("Beacon tests")
            CommonName("Beacon Test CA")
        }
        let ca = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(caKey.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: caName,
            subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: Certificate.PublicKey(caKey.publicKey))
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )

        let serverKey = P256.Signing.PrivateKey()
        let serverName = try DistinguishedName { CommonName(commonName) }
        let server = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(serverKey.publicKey),
            notValidBefore: notBefore,
            notValidAfter: notAfter,
            issuer: caName,
            subject: serverName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: Certificate.PublicKey(caKey.publicKey)).keyIdentifier)
                // subjectAltName (2.5.29.17): dNSName "localhost", iPAddress 127.0.0.1, DER written out.
                Certificate.Extension(oid: [2, 5, 29, 17], critical: false, value: Self.subjectAltNames[...])
            },
            issuerPrivateKey: Certificate.PrivateKey(caKey)
        )

        return TestCertificate(
            caPEM: try ca.serializeAsPEM().pemString,
            serverPEM: try server.serializeAsPEM().pemString,
            serverKeyPEM: serverKey.pemRepresentation
        )
    }

    /// SEQUENCE { [2] "localhost", [7] 7f000001 }
    private static let subjectAltNames: [UInt8] =
        [0x30, 0x11, 0x82, 0x09] + Array("localhost".utf8) + [0x87, 0x04, 127, 0, 0, 1]

    /// The CA as NIOSSL trust roots, for a client's `TLSConfiguration.trustRoots`.
    public var trustRoots: NIOSSLTrustRoots {
        get throws { .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))) }
    }

    /// A client TLS configuration that trusts only this CA.
    public func clientTLSConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = try trustRoots
        return tls
    }

    /// A server TLS configuration presenting the server certificate, offering `alpn`.
    public func serverTLSConfiguration(alpn: [String] = ["h2"]) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(serverPEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain,
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverKeyPEM.utf8), format: .pem))
        )
        tls.applicationProtocols = alpn
        return tls
    }
}
