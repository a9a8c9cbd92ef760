# What the kiosk image leaves out of the Debian root (sourced by image/build.sh).
# docs/image.md has the figures: where the space went before and after.
#
#   prune_modules ROOT KVER  keeps only the kernel modules a kiosk can load
#                            (with everything they depend on), runs depmod
#   slim_rootfs ROOT         drops what nothing on a kiosk runs: apt, perl,
#                            the gconv character sets, the hwdb's name tables,
#                            dpkg's file checksums

# The modules a kitchen screen can use, as extended regular expressions on
# their path under /lib/modules/KVER/kernel. Hardware that needs non-free
# firmware (amdgpu, radeon, most Wi-Fi) is left out: the image has no firmware.
KEEP_MODULES='
^arch/x86/(crypto|events|platform)/
^crypto/
^lib/
^block/
^mm/
^fs/(ext4|jbd2|fat|nls|efivarfs|autofs)/
^fs/mbcache\.ko
^net/(core|ipv4|ipv6|packet|unix|sched|wireless|mac80211|rfkill|8021q|llc|802)/
^drivers/(acpi|ata|nvme|mmc|virtio|hid|input|i2c|pinctrl|mfd|gpio|pci|char|video|tty|rtc|pps|ptp|dca|watchdog|firmware|iommu|dma|thermal|powercap|cpufreq|idle|leds|hv|base|thunderbolt)/
^drivers/block/(virtio_blk|loop|nbd)\.ko
^drivers/scsi/(scsi_mod|sd_mod|sr_mod|sg|virtio_scsi|scsi_common)\.ko
^drivers/usb/(core|host|storage|class|common|typec|roles)/
^drivers/gpu/drm/(drm|drm_kms_helper|drm_ttm_helper|drm_vram_helper|drm_shmem_helper|drm_dma_helper|drm_buddy)\.ko
^drivers/gpu/drm/(display|ttm|scheduler|i915|nouveau|gma500|ast|mgag200|tiny|virtio|qxl|vmwgfx|hyperv|udl|vboxvideo)/
^drivers/net/(virtio_net|net_failover|mii|mdio|tun|macvlan|veth)\.ko
^drivers/net/(phy|mdio|pcs|usb)/
^drivers/net/ethernet/(intel/(e1000|e1000e|igb|igc)|realtek|broadcom/(tg3|b44)\.ko)
^drivers/net/wireless/ath/(ath\.ko|ath9k/|ath5k/)
'

prune_modules() {
  local root=$1 kver=$2
  local dir=$root/usr/lib/modules/$kver
  local keep=$dir/.kds-keep
  # modules.dep of the whole tree first (the package's own is not always made
  # in the build chroot).
  in_chroot "$root" depmod -a "$kver"
  [ -f "$dir/modules.dep" ] || die "prune_modules: no $dir/modules.dep"
  # The wanted modules, then their dependencies (modules.dep lists them all,
  # transitively) until nothing new comes in.
  (cd "$dir" && find kernel -name '*.ko*' | sed 's|^kernel/||') \
    | grep -E "$(printf '%s' "$KEEP_MODULES" | sed '/^$/d' | paste -sd'|')" \
    | sed 's|^|kernel/|' | sort -u > "$keep"
  awk -F': ?' 'NR == FNR { want[$1] = 1; next }
    { dep[$1] = $2 }
    END {
      do { added = 0
        for (m in want) { n = split(dep[m], d, " ")
          for (i = 1; i <= n; i++) if (!(d[i] in want)) { want[d[i]] = 1; added = 1 } }
      } while (added)
      for (m in want) print m
    }' "$keep" "$dir/modules.dep" | sort -u > "$keep.all"
  (cd "$dir" && find kernel -name '*.ko*' | sort) | comm -23 - "$keep.all" \
    | (cd "$dir" && xargs -r rm -f)
  find "$dir/kernel" -type d -empty -delete
  rm -f "$keep" "$keep.all"
  # zstd-compressed modules: kmod (modprobe, udev, the initramfs's modprobe)
  # reads them; a third of the size.
  (cd "$dir" && find kernel -name '*.ko' -print0 | xargs -0 -r -n 200 zstd -q -15 --rm)
  in_chroot "$root" depmod -a "$kver"
}

slim_rootfs() {
  local root=$1
  # apt: nothing is installed on a read-only kiosk (updates are new images).
  rm -rf "$root"/usr/bin/apt* "$root"/usr/lib/apt "$root"/usr/lib/x86_64-linux-gnu/libapt-* \
    "$root"/etc/apt "$root"/var/lib/apt "$root"/var/cache/apt "$root"/usr/lib/dpkg/methods/apt \
    "$root"/etc/cron.daily/apt-compat "$root"/usr/lib/systemd/system/apt-daily*
  # perl: only package scripts at build time use it.
  rm -rf "$root"/usr/bin/perl "$root"/usr/bin/perl5.* "$root"/usr/lib/x86_64-linux-gnu/perl-base \
    "$root"/usr/share/perl5 "$root"/usr/lib/x86_64-linux-gnu/perl
  # glibc's character set modules (iconv to non-Unicode sets: nothing uses it).
  rm -rf "$root"/usr/lib/x86_64-linux-gnu/gconv
  # The hardware database without its vendor and model name tables (names
  # for lsusb/lspci; the keyboard, touch screen and input entries stay).
  if [ -d "$root/usr/lib/udev/hwdb.d" ]; then
    rm -f "$root"/usr/lib/udev/hwdb.d/20-*.hwdb "$root"/usr/lib/udev/hwdb.d/*-OUI.hwdb
    rm -f "$root"/etc/udev/hwdb.bin
    in_chroot "$root" systemd-hwdb update --usr
    rm -rf "$root/usr/lib/udev/hwdb.d"
  fi
  # dpkg's checksums of every file and the build-time data of the libraries
  # (symbols, shlibs, templates): nobody runs debsums or builds on a kiosk.
  # The package list itself stays (dpkg-query -W).
  rm -f "$root"/var/lib/dpkg/info/*.md5sums "$root"/var/lib/dpkg/info/*.symbols \
    "$root"/var/lib/dpkg/info/*.shlibs "$root"/var/lib/dpkg/info/*.templates \
    "$root"/var/lib/dpkg/info/*.triggers "$root"/var/lib/dpkg/*-old \
    "$root"/var/cache/debconf/templates.dat
  # Leap-second ("right/") time zones: kds.txt names the ordinary ones.
  rm -rf "$root"/usr/share/zoneinfo/right
  # The openssl command line (ca-certificates used it while installing).
  rm -f "$root"/usr/bin/openssl "$root"/usr/bin/c_rehash
  rm -rf "$root"/var/cache/debconf/*-old "$root"/var/cache/ldconfig/aux-cache
}
