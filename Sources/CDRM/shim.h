#ifndef KDS_CDRM_SHIM_H
#define KDS_CDRM_SHIM_H
#include <stdint.h>
#include <string.h>
#include <errno.h>
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

/* Dumb buffers: the DRM_IOCTL_MODE_* request numbers are function-like macros.
   Each returns 0 or -errno. */
static inline int kds_drm_create_dumb(int fd, uint32_t width, uint32_t height, uint32_t bpp,
                                      uint32_t *handle, uint32_t *pitch, uint64_t *size) {
  struct drm_mode_create_dumb req;
  memset(&req, 0, sizeof req);
  req.width = width;
  req.height = height;
  req.bpp = bpp;
  if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &req) < 0) return -errno;
  *handle = req.handle;
  *pitch = req.pitch;
  *size = req.size;
  return 0;
}
static inline int kds_drm_map_dumb(int fd, uint32_t handle, uint64_t *offset) {
  struct drm_mode_map_dumb req;
  memset(&req, 0, sizeof req);
  req.handle = handle;
  if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &req) < 0) return -errno;
  *offset = req.offset;
  return 0;
}
static inline int kds_drm_destroy_dumb(int fd, uint32_t handle) {
  struct drm_mode_destroy_dumb req;
  memset(&req, 0, sizeof req);
  req.handle = handle;
  if (drmIoctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &req) < 0) return -errno;
  return 0;
}
/* The connector's mode list entry, as a plain pointer (Swift sees an array). */
static inline drmModeModeInfo *kds_drm_connector_mode(drmModeConnector *c, int i) {
  return &c->modes[i];
}
#endif
