// `rookery`: the command for raven, booted clients and admins. Thin: parse, call the library, print.
import ArgumentParser

@main
struct Rookery: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rookery",
        abstract: "Boot a lab of NixOS machines from each other.",
        subcommands: [
            KeygenCommand.self, PublishCommand.self, SeedCommand.self, FetchCommand.self, PeerCommand.self,
            StatusCommand.self, SimulateCommand.self,
            NarCommand.self,
            DemoCommand.self,
        ])
}

/// An error the user can act on: printed as one line, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
    init(_ error: some Error) { self.description = "\(error)" }
}
