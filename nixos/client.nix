# A lab client that boots from raven: its disk is checked (and laid out if blank or wrong) before
# the root is mounted, then rookery-agent fills the root's store from the seed and from its
# neighbours, and stage 2 loads Nix's registration and sets the system profile. Works with the
# scripted initrd (preLVMCommands + postMountCommands) and with the systemd initrd (units around
# sysroot.mount). The seed address and keys come from the kernel command line raven's menu writes;
# `seed` and `trustedKeys` here are a fallback written into the initrd.
{ config, lib, pkgs, ... }:
let
  cfg = config.boot.initrd.rookery;
  inherit (lib) mkEnableOption mkOption mkIf mkMerge types concatMapStringsSep optionalString;
  systemdInitrd = config.boot.initrd.systemd.enable;
  root = if systemdInitrd then "/sysroot" else "/mnt-root";
  layoutText = "disk ${cfg.disk}\n"
    + concatMapStringsSep "\n" (p: "partition ${p.label} ${p.filesystem} ${p.size}") cfg.partitions + "\n";
  agentConf = optionalString (cfg.seed != null) "rookery.seed=${cfg.seed}\n"
    + concatMapStringsSep "" (k: "rookery.key=${k}\n") cfg.trustedKeys
    + "rookery.root=${root}\n";
in
{
  options.boot.initrd.rookery = {
    enable = mkEnableOption "fetching the system closure with rookery-agent in the initrd";
    package = mkOption { type = types.package; description = "rookery (its static rookery-agent is used)."; };
    seed = mkOption { type = types.nullOr types.str; default = null; example = "10.0.0.1:7020"; description = "Fallback seed IP:PORT."; };
    trustedKeys = mkOption { type = types.listOf types.str; default = [ ]; description = "Fallback trusted keys, name:base64."; };
    disk = mkOption { type = types.str; default = "/dev/sda"; example = "/dev/vda"; description = "The disk to lay out."; };
    partitions = mkOption {
      type = types.listOf (types.submodule {
        options = {
          label = mkOption { type = types.str; };
          filesystem = mkOption { type = types.enum [ "ext2" "ext3" "ext4" ]; default = "ext4"; };
          size = mkOption { type = types.str; default = "rest"; description = "MiB, or \"rest\" (last only)."; };
        };
      });
      default = [ { label = "nixos"; } ];
      description = ''
        The declared layout. A disk that carries exactly this (table and labels) is left alone, so
        its store survives reboots and present paths are not fetched again; any other disk is
        repartitioned and formatted.
      '';
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      fileSystems."/" = lib.mkDefault { device = "/dev/disk/by-label/${(lib.last cfg.partitions).label}"; fsType = (lib.last cfg.partitions).filesystem; };
      boot.initrd.network.enable = true; # DHCP in the initrd (udhcpc / systemd-networkd)
      boot.initrd.kernelModules = [ "virtio_net" "virtio_blk" "virtio_pci" ];

      # Stage 2: register what the agent fetched, once, and make it the system profile. The
      # agent does not wait for the disk: once what it wrote is synced (in the background, not
      # holding up the boot), this boot's list of the paths it renamed goes, and the next agent
      # trusts them without reading them (README: a power cut before that, and it checks each
      # against its NAR hash).
      boot.postBootCommands = ''
        if [ -f /nix/var/rookery/registration ]; then
          ${config.nix.package.out}/bin/nix-store --load-db < /nix/var/rookery/registration \
            && mv /nix/var/rookery/registration /nix/var/rookery/registration.loaded
          touch /etc/NIXOS
          ${config.nix.package.out}/bin/nix-env -p /nix/var/nix/profiles/system --set /run/current-system
        fi
        boot=$(cat /proc/sys/kernel/random/boot_id)
        if [ -f "/nix/var/rookery/unsynced/$boot" ]; then
          ( ${pkgs.coreutils}/bin/sync -f /nix/store && rm -f "/nix/var/rookery/unsynced/$boot" ) &
        fi
      '';
    }

    (mkIf (!systemdInitrd) {
      boot.initrd.extraUtilsCommands = ''
        copy_bin_and_libs ${cfg.package}/bin/rookery-agent
        copy_bin_and_libs ${pkgs.e2fsprogs}/bin/mke2fs
      '';
      boot.initrd.preLVMCommands = ''
        cat > /etc/rookery-layout <<'EOF'
        ${layoutText}EOF
        rookery-agent layout --mkfs "$(command -v mke2fs)" || fail
      '';
      boot.initrd.postMountCommands = ''
        cat > /etc/rookery-agent.conf <<'EOF'
        ${agentConf}EOF
        rookery-agent || fail
      '';
    })

    (mkIf systemdInitrd {
      boot.initrd.systemd.storePaths = [ "${cfg.package}/bin/rookery-agent" "${pkgs.e2fsprogs}/bin/mke2fs" ];
      boot.initrd.systemd.contents."/etc/rookery-layout".text = layoutText;
      boot.initrd.systemd.contents."/etc/rookery-agent.conf".text = agentConf;
      boot.initrd.systemd.services.rookery-layout = {
        description = "rookery: check and create the disk layout";
        wantedBy = [ "initrd.target" ];
        before = [ "sysroot.mount" ];
        after = [ "systemd-udev-settle.service" ];
        unitConfig.DefaultDependencies = false;
        serviceConfig = {
          Type = "oneshot";
          ExecStart = "${cfg.package}/bin/rookery-agent layout --mkfs ${pkgs.e2fsprogs}/bin/mke2fs";
        };
      };
      boot.initrd.systemd.services.rookery-agent = {
        description = "rookery: fetch the system closure into /sysroot";
        wantedBy = [ "initrd.target" ];
        after = [ "sysroot.mount" "network-online.target" ];
        wants = [ "network-online.target" ];
        before = [ "initrd-nixos-activation.service" ];
        requiredBy = [ "initrd-nixos-activation.service" ];
        unitConfig.DefaultDependencies = false;
        serviceConfig = {
          Type = "oneshot";
          ExecStart = "${cfg.package}/bin/rookery-agent";
          StandardOutput = "journal+console";
        };
      };
    })
  ]);
}
