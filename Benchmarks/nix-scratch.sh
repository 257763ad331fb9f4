# Sourced by the benchmarks: real Nix on a private HOME and chroot stores under $1, never the
# machine's own /nix, and a hermetic busybox builder (no nixpkgs). After `nix_scratch WORK`,
# $nix_builder holds the Nix `let` bindings `bb` and `mk NAME SCRIPT` (a derivation whose builder
# runs SCRIPT with busybox's sh, mkdir, head, cat, ln, seq on PATH).
nix_scratch() {
  export HOME=$1/home XDG_CACHE_HOME=$1/home/.cache NIX_STATE_DIR=$1/home/nix-state NIX_CONF_DIR=$1/home/etc-nix
  export NIX_CONFIG=$'experimental-features = nix-command\nbuild-users-group =\nsandbox = false\nsubstituters =\n'
  mkdir -p "$HOME" "$1/bb/bin"
  cp "$(command -v busybox)" "$1/bb/bin/busybox"
  for a in sh mkdir head cat ln seq; do ln -s busybox "$1/bb/bin/$a"; done
  nix_builder="
  bb = builtins.path { path = $1/bb; name = \"busybox\"; };
  mk = name: script: derivation {
    inherit name; system = builtins.currentSystem; builder = \"\${bb}/bin/sh\"; args = [ \"-c\" script ];
    PATH = \"\${bb}/bin\";
  };"
}
