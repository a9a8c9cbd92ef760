#ifndef KDS_CDRM_SHIM_H
#define KDS_CDRM_SHIM_H
#include <stdint.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <drm_fourcc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/fb.h>
#include <linux/vt.h>
#include <linux/kd.h>

/* ioctl is variadic in glibc: Swift cannot call it directly. */
static inline int kds_ioctl_ptr(int fd, unsigned long request, void *arg) {
  return ioctl(fd, request, arg);
}
static inline int kds_ioctl_int(int fd, unsigned long request, unsigned long arg) {
  return ioctl(fd, request, arg);
}
/* fbdev request numbers are plain macros; expose them as functions. */
static inline unsigned long kds_FBIOGET_VSCREENINFO(void) { return FBIOGET_VSCREENINFO; }
static inline unsigned long kds_FBIOPUT_VSCREENINFO(void) { return FBIOPUT_VSCREENINFO; }
static inline unsigned long kds_FBIOGET_FSCREENINFO(void) { return FBIOGET_FSCREENINFO; }
static inline unsigned long kds_FBIOPAN_DISPLAY(void) { return FBIOPAN_DISPLAY; }
static inline unsigned long kds_FBIOBLANK(void) { return FBIOBLANK; }
#endif
