// `rookery status`'s GET against servers that do not answer as they should: each ends with its
// own failure, within the deadline, and a body that runs to the end of the stream is read whole.
import Faces
import Runtime
import TestSupport
import Testing

@Suite struct HTTPClientTests {
    static func get(_ server: RawServer, timeoutMilliseconds: UInt64 = 5000) throws -> HTTPClient.Failure? {
        defer { server.finish() }
        do {
            _ = try HTTPClient.get(
                SocketAddress(parsing: server.address)!, path: "/status", timeoutMilliseconds: timeoutMilliseconds)
            return nil
        } catch let failure as HTTPClient.Failure {
            return failure
        }
    }

    @Test func aServerThatSaysNothingTimesOut() throws {
        let server = try RawServer { s in
            _ = s.receive(through: "\r\n\r\n")
            _ = s.receive()  // until the client gives up and closes
        }
        let failure = try Self.get(server, timeoutMilliseconds: 200)
        #expect(failure?.description == "no complete answer in time")
    }

    @Test func aServerThatClosesBeforeAnsweringIsNamed() throws {
        let server = try RawServer { s in _ = s.receive(through: "\r\n\r\n") }
        #expect(try Self.get(server)?.description == "the server closed the connection before answering")
    }

    @Test func anAnswerThatIsNotHTTPIsRefused() throws {
        let server = try RawServer { s in
            _ = s.receive(through: "\r\n\r\n")
            s.send("NOT HTTP AT ALL\r\n\r\n")
        }
        let failure = try Self.get(server)
        #expect(failure?.description == "the answer is not HTTP", "\(String(describing: failure))")
    }

    @Test func anHTTPAnswerThatBreaksLaterIsMalformed() throws {
        let server = try RawServer { s in
            _ = s.receive(through: "\r\n\r\n")
            s.send("HTTP/1.1 2x0 OK\r\n\r\n")
        }
        let failure = try Self.get(server)
        #expect(failure?.description.hasPrefix("bad answer: malformed HTTP") == true, "\(String(describing: failure))")
    }

    @Test func aBodyWithoutLengthRunsToTheEndOfTheStream() throws {
        // Written by the server's thread before `finish` returns, read after.
        final class Heard: @unchecked Sendable { var request = "" }
        let heard = Heard()
        let server = try RawServer { s in
            heard.request = String(decoding: s.receive(through: "\r\n\r\n"), as: UTF8.self)
            s.send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nread until the server closes")
        }
        let message = try HTTPClient.get(SocketAddress(parsing: server.address)!, path: "/status")
        server.finish()
        #expect(message.status == 200)
        #expect(String(decoding: message.body, as: UTF8.self) == "read until the server closes")
        #expect(heard.request.hasPrefix("GET /status HTTP/1.1\r\n") && heard.request.contains("Connection: close\r\n"))
    }
}
