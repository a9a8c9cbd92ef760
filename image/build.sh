#!/usr/bin/env bash
# make image: the flashable kiosk disk image.
#
#   build/image/kds-kiosk-VERSION-amd64.img      raw GPT disk image
#   build/image/kds-kiosk-VERSION-amd64.img.zst  the same, compressed
#   build/image/kds-kiosk-VERSION-amd64.img.sha256 / .img.zst.sha256
#
# Stages (each cached under build/image/cache, keyed by what goes into it):
#   1. base:    debootstrap --variant=minbase bookworm + image/packages.txt
#   2. bins:    kds-kiosk, kds-server, kdsctl in release mode, Swift runtime static
#   3. rootfs:  base + binaries + image/rootfs overlay + users + units
#   4. initrd:  mkinitramfs in the root (with the data-partition script)
#   5. disk:    sfdisk on the image file, mkfs.vfat + mcopy for the ESP,
#               mkfs.ext4 -d for root and data, written in place: no loop
#               devices, no mounts.
#
# Needs root (debootstrap, chroot, file ownership in the root file system).
# Environment: KDS_IMAGE_MIRROR (default: the host's apt mirror),
# KDS_IMAGE_SKIP_SWIFT=1 (reuse the last binaries), KDS_IMAGE_NO_COMPRESS=1.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# shellcheck source=lib/common.sh
source image/lib/common.sh
# shellcheck source=lib/slim.sh
source image/lib/slim.sh

[ "$(id -u)" -eq 0 ] || die "make image must run as root (debootstrap, chroot, file owners)"
export LC_ALL=C.UTF-8 TZ=UTC

OUT=$REPO/build/image
CACHE=$OUT/cache
WORK=$OUT/work
mkdir -p "$OUT" "$CACHE" "$WORK" "$OUT/logs"

SUITE=bookworm
ARCH=amd64
if [ -f VERSION ]; then
  VERSION=$(tr -d ' \n' < VERSION)
else
  VERSION=$(git describe --always --dirty 2>/dev/null || echo unknown)
fi
NAME=kds-kiosk-$VERSION-$ARCH
T0=$(date +%s)

# Runs a command in a chroot with /proc, /sys and /dev in a private mount
# namespace: they vanish with the command, nothing leaks onto the host.
in_chroot() {
  local root=$1
  shift
  unshare --mount --propagation private --fork -- /bin/sh -ec '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    mount --rbind /dev "$root/dev"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive HOME=/root "$@"
  ' sh "$root" "$@"
}

packages() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' image/packages.txt | tr -s ' \n' ' '; }

# ---------------------------------------------------------------- 1. base
stage_base() {
  MIRROR=$(host_debian_mirror)
  local pkgs key
  pkgs=$(packages)
  # Only the base stage's own text counts for its key (edits elsewhere in this
  # script do not throw away the debootstrap cache).
  key=$(printf '%s\n' "$SUITE" "$ARCH" "$pkgs" "$(sed -n '/^stage_base()/,/^}/p' image/build.sh)" \
    | sha256sum | cut -c1-16)
  BASE_TAR=$CACHE/base-$SUITE-$key.tar
  # Older bases (another package list) are dropped.
  find "$CACHE" -maxdepth 1 -name 'base-*.tar' ! -name "$(basename "$BASE_TAR")" -delete
  if [ -f "$BASE_TAR" ]; then
    say "base: cached $(basename "$BASE_TAR")"
    return
  fi
  say "base: debootstrap $SUITE (minbase) from the host's apt mirror"
  local b=$WORK/base
  rm -rf "$b"
  mkdir -p "$b" "$CACHE/debs"
  # Leave documentation, manuals and translations out from the first package on.
  mkdir -p "$b/etc/dpkg/dpkg.cfg.d"
  cat > "$b/etc/dpkg/dpkg.cfg.d/01-kds-minimal" <<'EOF'
# The kiosk image carries no manuals, documentation or translations
# (licences are kept).
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/bug/*
EOF
  debootstrap --variant=minbase --arch="$ARCH" --merged-usr \
    --cache-dir="$CACHE/debs" "$SUITE" "$b" "$MIRROR" > "$OUT/logs/debootstrap.log" 2>&1 \
    || { tail -n 30 "$OUT/logs/debootstrap.log" >&2; die "debootstrap failed (build/image/logs/debootstrap.log)"; }


  # apt in the chroot: the same mirror, with bookworm-updates and the security
  # suite when the host has them. Removed again from the final image.
  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
  } > "$b/etc/apt/sources.list"
  local sec
  sec=$(grep -rhoE '(https?://[^ ]+)[ ]+bookworm-security' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | awk '{print $1; exit}' || true)
  if [ -z "$sec" ]; then
    sec=$(awk 'BEGIN{RS="";FS="\n"} /Suites:[^\n]*bookworm-security/ {
        for (i=1;i<=NF;i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/,"",$i); split($i,u,/[ \t]+/); print u[1]; exit } }' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  fi
  [ -n "$sec" ] && echo "deb $sec $SUITE-security main" >> "$b/etc/apt/sources.list"
  cp /etc/resolv.conf "$b/etc/resolv.conf"
  # No daemon starts inside the build chroot.
  printf '#!/bin/sh\nexit 101\n' > "$b/usr/sbin/policy-rc.d"
  chmod 755 "$b/usr/sbin/policy-rc.d"
  # The initrd is made later, once, with the image's own hooks.
  mkdir -p "$b/etc/initramfs-tools"
  echo 'update_initramfs=no' > "$b/etc/initramfs-tools/update-initramfs.conf"

  say "base: apt-get install $(echo "$pkgs" | wc -w) packages"
  {
    in_chroot "$b" apt-get update
    in_chroot "$b" apt-get -y -o Dpkg::Options::=--force-confdef --no-install-recommends upgrade
    # shellcheck disable=SC2086
    in_chroot "$b" apt-get -y --no-install-recommends install $pkgs
    in_chroot "$b" apt-get clean
  } > "$OUT/logs/apt.log" 2>&1 || { tail -n 30 "$OUT/logs/apt.log" >&2; die "apt-get in the chroot failed (build/image/logs/apt.log)"; }

  say "base: packing $(du -sh "$b" | cut -f1) into the cache"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$b" -cf "$BASE_TAR.tmp" .
  mv "$BASE_TAR.tmp" "$BASE_TAR"
  rm -rf "$b"
}

if [ "${1:-}" = base ]; then # (make image-base: only the cached Debian base)
  mkdir -p "$OUT/logs"
  stage_base
  exit 0
fi

# ---------------------------------------------------------------- 2. binaries
BIN=$OUT/bin
stage_bins() {
  mkdir -p "$BIN"
  if [ "${KDS_IMAGE_SKIP_SWIFT:-}" = 1 ] && [ -x "$BIN/kds-kiosk" ]; then
    say "bins: reusing build/image/bin (KDS_IMAGE_SKIP_SWIFT=1)"
    return
  fi
  local p scratch=$REPO/.build-release-static
  for p in kds-kiosk kds-server kdsctl; do
    say "bins: swift build -c release --static-swift-stdlib --product $p"
    swift build -c release --static-swift-stdlib --scratch-path "$scratch" -j "$(nproc)" \
      --product "$p" >> "$OUT/logs/swift.log" 2>&1 \
      || { tail -n 30 "$OUT/logs/swift.log" >&2; die "swift build of $p failed (build/image/logs/swift.log)"; }
    # Symbols and debug info stay on the build machine (build/image/bin/*.debug).
    objcopy --only-keep-debug "$scratch/release/$p" "$BIN/$p.debug"
    strip --strip-all -o "$BIN/$p.tmp" "$scratch/release/$p"
    objcopy --add-gnu-debuglink="$BIN/$p.debug" "$BIN/$p.tmp"
    mv "$BIN/$p.tmp" "$BIN/$p"
  done
}

# ---------------------------------------------------------------- 3. rootfs
R=$WORK/rootfs
stage_rootfs() {
  say "rootfs: unpacking the base"
  rm -rf "$R"
  mkdir -p "$R"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$R" -xf "$BASE_TAR"

  # The kiosk user and its groups (fixed ids: the data partition outlives
  # reflashes of the root). `render` comes with udev.
  in_chroot "$R" sh -ec '
    getent group render >/dev/null || groupadd -r render
    groupadd -r -g 990 kds
    useradd -r -u 990 -g kds -G video,input,render,tty -d /var/lib/kds -M -s /usr/sbin/nologin -c "kitchen display" kds
  '

  say "rootfs: binaries, units, overlay"
  install -m 0755 "$BIN/kds-kiosk" "$BIN/kds-server" "$BIN/kdsctl" "$R/usr/bin/"
  install -m 0644 systemd/kds-kiosk.service systemd/kds-server.service "$R/usr/lib/systemd/system/"
  # On the image kds-server runs only in all-in-one mode. It waits for
  # network-online.target (its TLS certificate names the addresses the
  # machine has), which is no longer on the kiosk's way to its first frame:
  # the kiosk does not wait for the server (issue 13's boot budget, the image's
  # kds-kiosk.service.d).
  mkdir -p "$R/etc/kds" "$R/usr/share/doc/kds"
  install -m 0644 systemd/kiosk.conf.sample "$R/etc/kds/kiosk.conf"
  install -m 0644 systemd/kiosk.conf.sample "$R/usr/share/doc/kds/kiosk.conf.sample"
  install -m 0644 image/esp/kds.txt "$R/usr/share/doc/kds/kds.txt.sample"
  [ -f docs/install.md ] && install -m 0644 docs/install.md "$R/usr/share/doc/kds/install.md"
  [ -f README.md ] && install -m 0644 README.md "$R/usr/share/doc/kds/README.md"
  # The POS web app that kds-server serves at /pos/ (it looks in /usr/share/kds/web).
  mkdir -p "$R/usr/share/kds/web"
  cp -r web/. "$R/usr/share/kds/web/"
  chmod -R u=rwX,go=rX "$R/usr/share/kds/web"
  # The renderer's fonts (KDSRender looks in /usr/share/kds/fonts): the
  # repository's Fonts/, else Debian's DejaVu (the same faces).
  mkdir -p "$R/usr/share/kds/fonts"
  if [ -d Fonts ]; then
    cp -r Fonts/. "$R/usr/share/kds/fonts/"
    chmod -R u=rwX,go=rX "$R/usr/share/kds/fonts"
  else
    ln -sfn /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf "$R/usr/share/kds/fonts/DejaVuSans.ttf"
    ln -sfn /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf "$R/usr/share/kds/fonts/DejaVuSans-Bold.ttf"
  fi
  # The overlay: owned by root, modes as in git (scripts are executable).
  (cd image/rootfs && find . -mindepth 1 \( -type f -o -type l \) -print0) \
    | while IFS= read -r -d '' f; do
      mkdir -p "$R/$(dirname "$f")"
      cp -P --preserve=mode "image/rootfs/$f" "$R/$f"
      chown -h root:root "$R/$f"
    done

  # The read-only root: the places that change point into /run (rebuilt each
  # boot from kds.txt) or are mount points for the data partition.
  mkdir -p "$R/data" "$R/boot/efi" "$R/var/lib/kds" "$R/var/lib/private"
  chmod 0700 "$R/var/lib/private"
  ln -sfn private/kds-server "$R/var/lib/kds-server" # DynamicUser's state directory
  ln -sfn /run/kds-boot/hostname "$R/etc/hostname"
  ln -sfn /run/kds-boot/localtime "$R/etc/localtime"
  ln -sfn /run/kds-boot/timezone "$R/etc/timezone"
  mkdir -p "$R/etc/wpa_supplicant"
  ln -sfn /run/kds-boot/wpa_supplicant-wlan0.conf "$R/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
  ln -sfn ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
  # Each device makes its own machine id (the initramfs, on first boot) and
  # SSH host keys (kds-boot-config): none from the build machine.
  echo uninitialized > "$R/etc/machine-id"
  rm -f "$R/var/lib/dbus/machine-id" "$R"/etc/ssh/ssh_host_*

  # systemd-resolved and systemd-timesyncd are ordered before sysinit.target
  # by Debian, so every service (the kiosk too) waited for them: on the image
  # they start beside the rest (issue 13's boot budget; nothing on a kiosk
  # resolves a name before its network is up anyway). A copy in /etc without
  # that one ordering; still before network.target, nss-lookup.target and
  # time-set.target.
  local u
  for u in systemd-resolved.service systemd-timesyncd.service; do
    sed -E -e '/^Before=/s/(=| )sysinit\.target( |$)/\1/' "$R/usr/lib/systemd/system/$u" > "$R/etc/systemd/system/$u"
    grep -q '^Before=.*sysinit\.target' "$R/etc/systemd/system/$u" && die "$u is still ordered before sysinit.target"
  done
  # Generators for what a kiosk does not have (encrypted, verity or integrity
  # volumes, hibernation, SysV scripts, rc.local, offline updates, ip= or
  # systemd.run= on its command line, the GPT auto-mounts it turns off): each
  # is a program run before the first unit starts.
  mkdir -p "$R/etc/systemd/system-generators"
  for u in systemd-cryptsetup-generator systemd-veritysetup-generator systemd-integritysetup-generator \
    systemd-hibernate-resume-generator systemd-sysv-generator systemd-rc-local-generator \
    systemd-system-update-generator systemd-run-generator systemd-gpt-auto-generator; do
    ln -sfn /dev/null "$R/etc/systemd/system-generators/$u"
  done

  # Units: what runs, and what does not.
  systemctl --root="$R" enable kds-boot-config.service kds-serial-journal.service kds-data-alert.service \
    kds-ssh-keys.service kds-local-token.service \
    kds-kiosk.service kds-server.service ssh.service systemd-networkd.service \
    systemd-resolved.service systemd-timesyncd.service > /dev/null 2>&1
  mkdir -p "$R/etc/systemd/system/getty.target.wants"
  ln -sfn /lib/systemd/system/serial-getty@.service \
    "$R/etc/systemd/system/getty.target.wants/serial-getty@ttyS1.service"
  systemctl --root="$R" disable getty@tty1.service ssh.socket wpa_supplicant.service > /dev/null 2>&1 || true
  # dpkg-db-backup: writes /var/backups, on the read-only root (fails every day).
  systemctl --root="$R" mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    dpkg-db-backup.timer dpkg-db-backup.service \
    e2scrub_reap.service systemd-firstboot.service > /dev/null 2>&1 || true
  # Boot time (every unit costs under a slow CPU): kernel debug and tracing
  # file systems, binfmt, huge pages, utmp records, pstore, and modules the
  # image does not carry (device mapper) or never uses (fuse, loop).
  systemctl --root="$R" mask dev-hugepages.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-fs-fuse-connections.mount sys-kernel-config.mount proc-sys-fs-binfmt_misc.automount \
    systemd-binfmt.service systemd-pstore.service systemd-update-utmp.service \
    systemd-update-utmp-runlevel.service modprobe@dm_mod.service modprobe@fuse.service \
    modprobe@loop.service modprobe@configfs.service modprobe@efi_pstore.service \
    systemd-network-generator.service > /dev/null 2>&1
  systemctl --root="$R" set-default multi-user.target > /dev/null 2>&1

  # Root has no password (console login off; SSH by key only).
  sed -i 's|^root:[^:]*:|root:*:|' "$R/etc/shadow"

  # Only the kernel modules a kiosk can load, zstd-compressed (kmod reads
  # them), before the initrd is made from them (image/lib/slim.sh).
  KVER=$(basename "$(ls -d "$R"/lib/modules/*)")
  say "rootfs: kernel modules (keep list, compressed)"
  prune_modules "$R" "$KVER"

  # The initrd needs the overlay's hooks (and /etc/fstab, for its fsck).
  stage_initrd

  # Leaner: no apt on a read-only kiosk, no caches, no docs; the kernel and
  # initrd live on the ESP.
  rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/* "$R"/var/cache/debconf/*-old \
    "$R"/var/log/* "$R"/usr/share/man "$R"/usr/share/info "$R"/usr/share/lintian \
    "$R"/usr/sbin/policy-rc.d "$R"/etc/apt/sources.list "$R"/root/.bash_history
  find "$R/usr/share/doc" -mindepth 2 ! -name copyright ! -path '*/kds/*' -delete 2>/dev/null || true
  find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  : > "$R/etc/resolv.conf.tmp" && rm -f "$R/etc/resolv.conf.tmp"
  say "rootfs: slimming (apt, perl, gconv, hwdb names)"
  slim_rootfs "$R"
  # The renderer's faces are in /usr/share/kds/fonts: Debian's copy is not
  # needed when the repository brought its own.
  if [ -d Fonts ] && [ ! -L "$R/usr/share/kds/fonts/DejaVuSans.ttf" ]; then
    rm -rf "$R/usr/share/fonts/truetype/dejavu"
  fi
  cp "$R/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
  rm -f "$R"/boot/vmlinuz-* "$R"/boot/initrd.img-* "$R"/boot/System.map-* "$R"/boot/config-* \
    "$R"/vmlinuz* "$R"/initrd.img*

  # Every library the binaries need is in the root.
  local p missing
  for p in kds-kiosk kds-server kdsctl; do
    missing=$(in_chroot "$R" ldd "/usr/bin/$p" | grep 'not found' || true)
    [ -z "$missing" ] || die "$p needs libraries that are not in the image: $missing"
  done
  [ -z "$(ls "$R"/etc/ssh/ssh_host_* 2>/dev/null)" ] || die "SSH host keys left in the image"
}

# ---------------------------------------------------------------- 4. initrd
stage_initrd() {
  local kver key
  kver=$(basename "$(ls -d "$R"/lib/modules/*)")
  key=$(cat "$BASE_TAR.sha" 2>/dev/null || basename "$BASE_TAR")
  key=$(printf '%s\n' "$key" "$kver" "$KEEP_MODULES" "$(declare -f prune_modules)" \
    "$(cd image/rootfs && find etc/initramfs-tools etc/fstab etc/modprobe.d etc/udev usr/lib/udev -type f -print0 2> /dev/null | sort -z | xargs -0 sha256sum)" \
    | sha256sum | cut -c1-16)
  INITRD_CACHE=$CACHE/initrd-$kver-$key.img
  if [ -f "$INITRD_CACHE" ]; then
    say "initrd: cached $(basename "$INITRD_CACHE")"
  else
    say "initrd: mkinitramfs $kver"
    in_chroot "$R" mkinitramfs -o /tmp/initrd.img "$kver" > "$OUT/logs/initrd.log" 2>&1 \
      || { tail -n 20 "$OUT/logs/initrd.log" >&2; die "mkinitramfs failed"; }
    find "$CACHE" -maxdepth 1 -name 'initrd-*.img' -delete
    mv "$R/tmp/initrd.img" "$INITRD_CACHE.tmp"
    mv "$INITRD_CACHE.tmp" "$INITRD_CACHE"
  fi
  cp "$INITRD_CACHE" "$WORK/initrd.img"
}

# ---------------------------------------------------------------- 5. disk
# The ESP holds the kernel (8 MiB), the initrd (about 8 MiB) and systemd-boot;
# 36 MiB is a FAT32 just above its smallest size (65,525 clusters). The data
# partition starts small: the initramfs grows it to the disk on first boot.
ESP_MIB=${KDS_IMAGE_ESP_MIB:-36}
DATA_MIB=${KDS_IMAGE_DATA_MIB:-32}
stage_disk() {
  local img=$WORK/disk.img esp=$WORK/esp.img data=$WORK/data
  local root_mib root_start data_start total_mib esp_uuid root_uuid data_uuid
  esp_uuid=$(cat /proc/sys/kernel/random/uuid)
  root_uuid=$(cat /proc/sys/kernel/random/uuid)
  data_uuid=$(cat /proc/sys/kernel/random/uuid)

  # /etc/fstab names this build's partitions by their GPT UUIDs (the
  # overlay's labels are for the initrd's fsck hook; a USB stick with the same
  # label must not be mounted in their place).
  sed -i -e "s|^LABEL=KDSROOT |PARTUUID=$root_uuid |" -e "s|^LABEL=KDSBOOT |PARTUUID=$esp_uuid |" \
    -e "s|^LABEL=KDSDATA |PARTUUID=$data_uuid |" "$R/etc/fstab"
  grep -q "^PARTUUID=$root_uuid " "$R/etc/fstab" || die "fstab: no root entry to set"

  # The data partition's first content: empty places for the kiosk, the
  # server, systemd's state and the journal.
  rm -rf "$data"
  mkdir -p "$data"/{kds,private,etc,ssh,log/journal}
  chown 990:990 "$data/kds"
  chmod 0700 "$data/kds" "$data/private" "$data/ssh"
  cp -a "$R/var/lib/systemd" "$data/systemd"
  chgrp "$(awk -F: '$1 == "systemd-journal" {print $3}' "$R/etc/group")" "$data/log/journal"
  chmod 2755 "$data/log/journal"
  printf 'This is a kitchen display kiosk'"'"'s data partition (KDSDATA).\nReflashing only the first two partitions keeps it.\n' > "$data/README"

  # The root is read-only: sized to its content (4 KiB blocks) plus the
  # file system's own (inode tables for the files there are and a quarter more,
  # a 4 MiB journal, bitmaps and group descriptors) and 2% to spare.
  local root_kib root_inodes
  root_kib=$(du -sx --block-size=1K "$R" | cut -f1)
  root_inodes=$(find "$R" -xdev | wc -l)
  root_inodes=$((root_inodes + root_inodes / 4 + 1024))
  root_mib=$(((root_kib + root_kib * 2 / 100 + root_inodes / 4 + 4096 + 2048) / 1024 + 1))
  root_start=$((1 + ESP_MIB))
  data_start=$((root_start + root_mib))
  total_mib=$((data_start + DATA_MIB + 1))
  say "disk: ESP ${ESP_MIB} MiB, root ${root_mib} MiB, data ${DATA_MIB} MiB (grows on first boot)"

  # Loader entry: root by partition UUID, read-only (so it is checked at
  # boot), quiet, no cursor, no blanking.
  # kds.esp: the initramfs mounts the ESP (kds.txt) itself, like the data
  # partition, so nothing before the kiosk waits for udev to announce it.
  local cmdline="root=PARTUUID=$root_uuid ro rootfstype=ext4 kds.data=PARTUUID=$data_uuid"
  cmdline="$cmdline kds.esp=PARTUUID=$esp_uuid"
  cmdline="$cmdline fsck.repair=yes quiet loglevel=3 systemd.show_status=false"
  cmdline="$cmdline rd.systemd.show_status=false rd.udev.log_level=3 udev.log_level=3"
  cmdline="$cmdline consoleblank=0 vt.global_cursor_default=0 net.ifnames=0 systemd.gpt_auto=0 panic=10"
  cat > "$WORK/kds.conf" <<EOT
title   Kitchen display kiosk $VERSION
version $VERSION
linux   /kds/vmlinuz
initrd  /kds/initrd.img
options $cmdline
EOT

  # The ESP: FAT32 with systemd-boot as the removable-media default loader
  # (OVMF and most PCs boot \EFI\BOOT\BOOTX64.EFI with empty NVRAM).
  rm -f "$esp"
  mkfs.fat -F 32 -s 1 -n KDSBOOT -i "$(printf '%08X' $((RANDOM * 65536 + RANDOM)))" -C "$esp" $((ESP_MIB * 1024)) > /dev/null
  local sdboot=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
  [ -f "$sdboot" ] || die "$sdboot missing: apt-get install systemd-boot-efi (scripts/install-deps)"
  mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries ::/kds
  mcopy -i "$esp" "$sdboot" ::/EFI/BOOT/BOOTX64.EFI
  mcopy -i "$esp" "$sdboot" ::/EFI/systemd/systemd-bootx64.efi
  mcopy -i "$esp" image/esp/loader/loader.conf ::/loader/loader.conf
  mcopy -i "$esp" "$WORK/kds.conf" ::/loader/entries/kds.conf
  mcopy -i "$esp" "$WORK/vmlinuz" ::/kds/vmlinuz
  mcopy -i "$esp" "$WORK/initrd.img" ::/kds/initrd.img
  mcopy -i "$esp" image/esp/kds.txt ::/kds.txt
  echo "$VERSION" > "$WORK/VERSION.txt"
  mcopy -i "$esp" "$WORK/VERSION.txt" ::/kds/VERSION.txt

  # The disk: GPT written by sfdisk on the file, then each file system put in
  # place (dd for the ESP, mkfs.ext4 -E offset= for root and data).
  rm -f "$img"
  truncate -s "${total_mib}M" "$img"
  sfdisk --quiet --no-reread --no-tell-kernel "$img" > /dev/null <<EOT
label: gpt
unit: sectors
first-lba: 2048
start=$((1 * MIB)), size=$((ESP_MIB * MIB)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$esp_uuid, name="KDSBOOT"
start=$((root_start * MIB)), size=$((root_mib * MIB)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$root_uuid, name="KDSROOT"
start=$((data_start * MIB)), size=$((DATA_MIB * MIB)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$data_uuid, name="KDSDATA"
EOT
  dd if="$esp" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
  # -b 4096: small file systems would otherwise get 1 KiB blocks.
  mkfs.ext4 -q -F -b 4096 -L KDSROOT -m 0 -N "$root_inodes" -J size=4 -d "$R" \
    -E "offset=$((root_start * 1024 * 1024)),nodiscard" "$img" "$((root_mib * 1024))k"
  # The data partition grows (offline resize2fs in the initramfs) to the disk;
  # its journal stays at 8 MiB (a quarter of the 32 MiB it starts with).
  mkfs.ext4 -q -F -b 4096 -L KDSDATA -m 1 -J size=8 -d "$data" \
    -E "offset=$((data_start * 1024 * 1024)),nodiscard,resize=4294967295" "$img" "$((DATA_MIB * 1024))k"

  # Checks: the partition table and both ext4 file systems are sound.
  sfdisk --verify "$img" > /dev/null 2>&1 || die "sfdisk --verify failed on the image"
  e2fsck -fn "$img?offset=$((root_start * 1024 * 1024))" > "$OUT/logs/fsck-root.log" 2>&1 \
    || die "e2fsck of the root file system failed (build/image/logs/fsck-root.log)"
  e2fsck -fn "$img?offset=$((data_start * 1024 * 1024))" > "$OUT/logs/fsck-data.log" 2>&1 \
    || die "e2fsck of the data file system failed (build/image/logs/fsck-data.log)"

  # Publish: the raw image, compressed, and their checksums.
  rm -f "$OUT"/kds-kiosk-*-"$ARCH".img*
  mv "$img" "$OUT/$NAME.img"
  echo "$NAME" > "$OUT/latest"
  {
    echo "esp_start_mib=1"
    echo "root_start_mib=$root_start"
    echo "data_start_mib=$data_start"
    echo "data_mib=$DATA_MIB"
    echo "esp_partuuid=$esp_uuid"
    echo "root_partuuid=$root_uuid"
    echo "data_partuuid=$data_uuid"
  } > "$OUT/$NAME.layout"
  (cd "$OUT" && sha256sum "$NAME.img" > "$NAME.img.sha256")
  size_report > "$OUT/$NAME.sizes"
  if [ "${KDS_IMAGE_NO_COMPRESS:-}" != 1 ]; then
    say "disk: compressing (zstd)"
    local t=$SECONDS
    zstd -q -T0 "-${KDS_IMAGE_ZSTD_LEVEL:-12}" --long=27 --sparse -f "$OUT/$NAME.img" -o "$OUT/$NAME.img.zst"
    say "disk: compressed in $((SECONDS - t)) s"
    (cd "$OUT" && sha256sum "$NAME.img.zst" > "$NAME.img.zst.sha256")
  fi
}

# Where the space goes (docs/image.md): build/image/NAME.sizes, in KiB.
size_report() {
  local k=$R/usr/lib/modules
  echo "# partitions (MiB): esp $ESP_MIB root $root_mib data $DATA_MIB"
  echo "# esp content (KiB): kernel $(($(stat -c %s "$WORK/vmlinuz") / 1024)) initrd $(($(stat -c %s "$WORK/initrd.img") / 1024))"
  echo "# root content by place (du, KiB)"
  local p
  for p in "$R" "$R"/usr/bin/kds-kiosk "$R"/usr/bin/kds-server "$R"/usr/bin/kdsctl "$k" \
    "$R"/usr/bin "$R"/usr/lib/x86_64-linux-gnu "$R"/usr/lib/udev "$R"/usr/share "$R"/usr/sbin \
    "$R"/etc "$R"/var; do
    du -sx --block-size=1K "$p" | sed "s|$R|/|; s|//|/|"
  done
  echo "# root content by Debian package (Installed-Size, KiB, before the image's cuts)"
  in_chroot "$R" dpkg-query -Wf '${Installed-Size}\t${Package}\n' | sort -rn | head -n 25
}

stage_base
stage_bins
stage_rootfs
stage_disk
T1=$(date +%s)
raw=$(stat -c %s "$OUT/$NAME.img")
say "built build/image/$NAME.img in $((T1 - T0)) s: $((raw / 1048576)) MiB raw$(
  [ -f "$OUT/$NAME.img.zst" ] && echo ", $(($(stat -c %s "$OUT/$NAME.img.zst") / 1048576)) MiB zstd")"
