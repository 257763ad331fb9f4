// `rookery status`: the swarm as the seed (or a peer) sees it, from its `/status`. On a terminal a live view
// redrawn in place; otherwise plain lines per sample (no escape codes); `--json` for scripts.
import ArgumentParser
import Faces
import Foundation
import Glibc
import HTTP
import Runtime

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the swarm: per-peer progress, rates, seed vs peer bytes.")

    @Option(help: "The seed's HTTP address, HOST:PORT (its --http; an IP address or a name).")
    var seed: String = "127.0.0.1:7080"

    @Option(help: "A booted peer's HTTP address instead, HOST:PORT (its --http): what it serves.")
    var peer: String?

    @Flag(help: "Print the seed's /status JSON once and exit.")
    var json = false

    @Flag(help: "Print one sample and exit.")
    var once = false

    @Flag(help: "Exit once every swarm that has members is complete.")
    var untilComplete = false

    @Option(help: "Seconds between samples.")
    var interval = Seconds(1)

    @Option(help: "Link rate of each host in Mbit/s, for the T_min estimate.")
    var linkMbit: RateMbit?

    func run() throws {
        let address = try RemoteAddress.resolve(peer ?? seed, option: peer == nil ? "seed" : "peer")
        if json {
            let response = try fetch(address)
            FileHandle.standardOutput.write(Data(response.body))
            return
        }
        let terminal = isatty(STDOUT_FILENO) == 1
        var view = StatusView(linkMbit: linkMbit?.mbit)
        var sampled = false
        while true {  // until Ctrl-C, --once or --until-complete
            do {
                let status = try JSONDecoder().decode(SwarmStatus.self, from: Data(try fetch(address).body))
                sampled = true
                let lines = view.render(status)
                if terminal {
                    print("\u{1B}[H\u{1B}[2J" + lines.joined(separator: "\n"))
                } else {
                    print(lines.joined(separator: "\n") + "\n")
                }
                fflush(nil)
                let swarms = status.swarms.filter { !$0.members.isEmpty }
                if once || (untilComplete && !swarms.isEmpty && swarms.allSatisfy { $0.members.allSatisfy(\.complete) })
                {
                    return
                }
            } catch {
                // The first sample must work; later ones may fail while the seed restarts.
                if once || !sampled { throw CommandFailure(error) }
                print("rookery status: \(error); retrying")
            }
            usleep(UInt32(min(max(interval.seconds, 0.1), 3600) * 1_000_000))
        }
    }

    private func fetch(_ address: SocketAddress) throws -> HTTPMessage {
        let response: HTTPMessage
        do { response = try HTTPClient.get(address, path: "/status") } catch {
            // `fetch --seed` and `peer --seed` take the chunk port; status reads the HTTP face.
            let notHTTP = if case .notHTTP = error as? HTTPClient.Failure { true } else { false }
            let hint = notHTTP ? " (the chunk port? status reads the HTTP face: --http, port 7080 by default)" : ""
            throw CommandFailure("\(address)/status: \(error)\(hint)")  // which node: status may watch a peer
        }
        guard response.status == 200 else { throw CommandFailure("\(address)/status answered \(response.status)") }
        return response
    }
}
