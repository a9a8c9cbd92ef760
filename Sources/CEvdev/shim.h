#ifndef KDS_CEVDEV_SHIM_H
#define KDS_CEVDEV_SHIM_H
#include <errno.h>
#include <libevdev/libevdev.h>
#include <libevdev/libevdev-uinput.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <signal.h>

/* EVIOCGRAB is an ioctl macro and ioctl is variadic: wrap both. */
static inline int kds_evdev_grab(int fd, int grab) {
  return ioctl(fd, EVIOCGRAB, (void *)(long)grab);
}
#endif
