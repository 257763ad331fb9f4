# rookery as a Nix package from binaries built with the Swift toolchain (Swift 6.1+ is not in
# nixpkgs 24.05): `swift build -c release --product rookery` and `scripts/build-static-agent.sh`
# (see the README), then point `src` at a folder with `rookery` and `rookery-agent`. The agent is fully
# static; `rookery` needs libuv, libsodium and libhttp-parser at run time.
{ stdenv, lib, autoPatchelfHook, libuv, libsodium, http-parser, src }:
stdenv.mkDerivation {
  pname = "rookery";
  version = "0.1";
  inherit src;
  nativeBuildInputs = [ autoPatchelfHook ];
  buildInputs = [ libuv libsodium http-parser stdenv.cc.cc.lib ];
  dontBuild = true;
  installPhase = ''
    install -Dm755 rookery $out/bin/rookery
    install -Dm755 rookery-agent $out/bin/rookery-agent
  '';
  meta = {
    description = "Boot a lab of NixOS machines from each other";
    platforms = [ "x86_64-linux" ];
    mainProgram = "rookery";
  };
}
