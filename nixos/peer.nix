# A booted lab machine serves what it booted with (`rookery peer`): chunks to the next boot wave,
# and a Nix binary cache with raven's signatures, so any machine can use it as a substituter.
{ config, lib, ... }:
let
  cfg = config.services.rookery.peer;
  inherit (lib) mkEnableOption mkOption mkIf types concatMapStringsSep;
in
{
  options.services.rookery.peer = {
    enable = mkEnableOption "serving this machine's systems to the lab with rookery peer";
    package = mkOption { type = types.package; description = "rookery, built as in nixos/package.nix."; };
    seed = mkOption { type = types.str; example = "10.0.0.1:7020"; description = "raven's chunk address, HOST:PORT (an IP address, or a name looked up at each start)."; };
    trustedKeys = mkOption { type = types.listOf types.str; description = "raven's public keys, name:base64."; };
    listen = mkOption { type = types.str; default = "0.0.0.0:7021"; description = "Chunk protocol address."; };
    http = mkOption { type = types.str; default = "0.0.0.0:7080"; description = "HTTP face (\"off\": none)."; };
    uploadMbit = mkOption { type = types.ints.unsigned; default = 0; description = "Upload cap per system (0: none)."; };
    openFirewall = mkOption { type = types.bool; default = true; description = "Open the chunk and HTTP ports."; };
  };

  config = mkIf cfg.enable {
    systemd.services.rookery-peer = {
      description = "rookery peer: serve this machine's systems to the lab";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        ExecStart = "${cfg.package}/bin/rookery peer --seed ${cfg.seed} "
          + concatMapStringsSep " " (k: "--trusted-key ${k}") cfg.trustedKeys
          + " --listen ${cfg.listen} --http ${cfg.http} --upload-mbit ${toString cfg.uploadMbit}";
        Restart = "always";
        RestartSec = 10;
        DynamicUser = true;
        ProtectSystem = "strict";
        LimitNOFILE = 65536;
      };
    };
    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ 7021 7080 ];
  };
}
