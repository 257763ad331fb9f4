# raven: `rookery seed` (chunks, tracker, binary cache, boot files and menus over HTTP), the
# publishing of lab systems, and optionally dnsmasq for DHCP (or proxy-DHCP) + TFTP so that
# machines PXE-boot into iPXE and then fetch raven's boot.ipxe.
{ config, lib, pkgs, ... }:
let
  cfg = config.services.rookery.seed;
  inherit (lib) mkEnableOption mkOption mkIf types concatMapStringsSep escapeShellArg optionals;
  httpHost = cfg.advertiseAddress;
in
{
  options.services.rookery.seed = {
    enable = mkEnableOption "the rookery seed on this machine (raven)";
    package = mkOption {
      type = types.package;
      description = "rookery, built as in nixos/package.nix.";
    };
    stateDir = mkOption {
      type = types.str;
      default = "/var/lib/rookery";
      description = "Where published manifests live (STATE/manifests) and STATE/boot-macs is read.";
    };
    secretKeyFile = mkOption {
      type = types.str;
      example = "/var/lib/rookery/raven-1.sk";
      description = ''
        Nix binary-cache secret key (`nix-store --generate-binary-cache-key` or `rookery keygen`).
        It signs manifests and narinfos; its public key goes to every client's kernel command line.
      '';
    };
    systems = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ nodes.lab.config.system.build.toplevel ]";
      description = "System toplevels published (newest last) each time the seed starts.";
    };
    keepGenerations = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      example = 10;
      description = ''
        Keep only this many manifests signed by the key (the boot menus' generations, newest
        first), like boot.loader.*.configurationLimit; null keeps all. At least as many as
        `systems`, which are published at every start.
      '';
    };
    listen = mkOption { type = types.str; default = "0.0.0.0:7020"; description = "Chunk protocol address."; };
    http = mkOption { type = types.str; default = "0.0.0.0:7080"; description = "HTTP face address."; };
    advertiseAddress = mkOption {
      type = types.str;
      example = "10.0.0.1";
      description = "raven's IP on the lab LAN, used in the DHCP boot file URL.";
    };
    uploadMbit = mkOption { type = types.ints.unsigned; default = 0; description = "Upload cap (0: none)."; };
    macs = mkOption {
      type = types.attrsOf types.package;
      default = { };
      example = lib.literalExpression ''{ "52:54:00:00:00:02" = nodes.kiosk.config.system.build.toplevel; }'';
      description = "Per-machine systems: MAC address to toplevel (default entry of that machine's menu).";
    };
    openFirewall = mkOption { type = types.bool; default = true; description = "Open the chunk, HTTP, DHCP and TFTP ports."; };
    dnsmasq = {
      enable = mkEnableOption "dnsmasq for PXE (DHCP or proxy-DHCP, and TFTP for iPXE)";
      interface = mkOption { type = types.str; example = "enp1s0"; description = "The lab LAN interface."; };
      dhcpRange = mkOption {
        type = types.str;
        default = "";
        example = "10.0.0.100,10.0.0.200,12h";
        description = "A DHCP range; empty: proxy-DHCP next to the LAN's own DHCP server.";
      };
    };
  };

  config = mkIf cfg.enable {
    assertions = [{
      assertion = cfg.keepGenerations == null || cfg.keepGenerations >= builtins.length cfg.systems;
      message = "services.rookery.seed.keepGenerations must be at least the number of systems.";
    } {
      assertion = builtins.all (mac: builtins.match "([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}" mac != null)
        (builtins.attrNames cfg.macs);
      message = "services.rookery.seed.macs: every name must be a MAC address such as 52:54:00:ab:00:01.";
    }];

    environment.systemPackages = [ cfg.package ];

    systemd.services.rookery-seed = {
      description = "rookery seed: closures, boot files and a binary cache for the lab";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      path = [ config.nix.package ];
      preStart = ''
        mkdir -p ${escapeShellArg cfg.stateDir}
        ${concatMapStringsSep "\n" (s: ''
          ${cfg.package}/bin/rookery publish --state ${escapeShellArg cfg.stateDir} --key ${escapeShellArg cfg.secretKeyFile} \
            --label ${escapeShellArg (s.config.system.nixos.label or s.name)} \
            ${lib.optionalString (cfg.keepGenerations != null) "--keep ${toString cfg.keepGenerations}"} ${s}
        '') cfg.systems}
        : > ${escapeShellArg cfg.stateDir}/boot-macs.new
        ${concatMapStringsSep "\n" (mac: ''
          echo ${escapeShellArg "${mac} ${cfg.macs.${mac}}"} >> ${escapeShellArg cfg.stateDir}/boot-macs.new
        '') (builtins.attrNames cfg.macs)}
        mv ${escapeShellArg cfg.stateDir}/boot-macs.new ${escapeShellArg cfg.stateDir}/boot-macs
      '';
      serviceConfig = {
        ExecStart = "${cfg.package}/bin/rookery seed --state ${cfg.stateDir} --store / --listen ${cfg.listen} "
          + "--http ${cfg.http} --key ${cfg.secretKeyFile} --upload-mbit ${toString cfg.uploadMbit}";
        # A `rookery publish` by hand is served once written (the seed watches STATE/manifests);
        # `systemctl reload rookery-seed` reloads too (boot-macs edited by hand, say).
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
        Restart = "on-failure";
        LimitNOFILE = 65536;
      };
    };

    # The published systems must stay in raven's store (publish also roots every manifest it
    # writes, STATE/gcroots, so generations kept by keepGenerations survive a GC too).
    system.extraDependencies = cfg.systems ++ builtins.attrValues cfg.macs;

    services.dnsmasq = mkIf cfg.dnsmasq.enable {
      enable = true;
      resolveLocalQueries = false;
      settings = {
        port = 0; # DHCP and TFTP only, no DNS
        interface = cfg.dnsmasq.interface;
        bind-interfaces = true;
        no-ping = true; # iPXE waits for the 3 s ping probe otherwise
        dhcp-range = if cfg.dnsmasq.dhcpRange == "" then [ "${httpHost},proxy" ] else [ cfg.dnsmasq.dhcpRange ];
        # BIOS PXE ROMs get iPXE over TFTP; iPXE (DHCP option 175) gets raven's menu over HTTP.
        dhcp-match = [ "set:ipxe,175" ];
        dhcp-boot = [ "tag:!ipxe,undionly.kpxe" "tag:ipxe,http://${httpHost}:7080/boot.ipxe" ];
        pxe-service = mkIf (cfg.dnsmasq.dhcpRange == "") [ "tag:!ipxe,x86PC,rookery,undionly.kpxe" ];
        enable-tftp = true;
        tftp-root = "${pkgs.ipxe}";
      };
    };

    networking.firewall = mkIf cfg.openFirewall {
      allowedTCPPorts = [ 7020 7080 ];
      allowedUDPPorts = optionals cfg.dnsmasq.enable [ 67 69 4011 ];
    };
  };
}
