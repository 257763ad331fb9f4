# rookery's NixOS modules: import this file (or the ones you need).
{
  imports = [ ./seed.nix ./client.nix ./peer.nix ];
}
