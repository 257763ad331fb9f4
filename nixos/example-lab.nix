# An example lab: raven (seed, dnsmasq) and the clients' system, as a flake-less NixOS config.
#   raven:  imports = [ ./nixos ]; services.rookery.seed = (this file).raven;
#   client: the system in `lab` below, published by raven, PXE-booted by every lab machine.
{ pkgs, rookery ? pkgs.callPackage ./package.nix { src = ./bin; } }:
let
  ravenKey = "raven-1:REPLACE-WITH-THE-PUBLIC-KEY-OF-raven-1.sk=";
  lab = import <nixpkgs/nixos> {
    configuration = { ... }: {
      imports = [ ./default.nix ];
      boot.initrd.rookery = {
        enable = true;
        package = rookery;
        disk = "/dev/sda";
        partitions = [ { label = "nixos"; filesystem = "ext4"; size = "rest"; } ];
      };
      services.rookery.peer = { enable = true; package = rookery; seed = "10.0.0.1:7020"; trustedKeys = [ ravenKey ]; };
      nix.settings = {
        substituters = [ "http://10.0.0.1:7080" ];
        trusted-public-keys = [ ravenKey ];
      };
      system.stateVersion = "24.05";
    };
  };
in
{
  raven = {
    imports = [ ./default.nix ];
    services.rookery.seed = {
      enable = true;
      package = rookery;
      secretKeyFile = "/var/lib/rookery/raven-1.sk";
      advertiseAddress = "10.0.0.1";
      systems = [ lab.config.system.build.toplevel ];
      dnsmasq = { enable = true; interface = "enp1s0"; dhcpRange = "10.0.0.100,10.0.0.200,12h"; };
    };
  };
  inherit lab;
}
