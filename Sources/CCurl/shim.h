#ifndef KDS_CCURL_SHIM_H
#define KDS_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic: Swift needs one typed
   wrapper per argument kind. */
static inline CURLcode kds_curl_setopt_long(CURL *h, CURLoption o, long v) {
  return curl_easy_setopt(h, o, v);
}
static inline CURLcode kds_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) {
  return curl_easy_setopt(h, o, v);
}
static inline CURLcode kds_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) {
  return curl_easy_setopt(h, o, v);
}
typedef size_t (*kds_curl_write_cb)(char *, size_t, size_t, void *);
static inline CURLcode kds_curl_setopt_write(CURL *h, CURLoption o, kds_curl_write_cb cb) {
  return curl_easy_setopt(h, o, cb);
}
static inline CURLcode kds_curl_getinfo_long(CURL *h, CURLINFO i, long *v) {
  return curl_easy_getinfo(h, i, v);
}
/* The multi and share interfaces' setopt are variadic too. */
static inline CURLMcode kds_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
  return curl_multi_setopt(m, o, v);
}
static inline CURLSHcode kds_curl_share_setopt_long(CURLSH *s, CURLSHoption o, long v) {
  return curl_share_setopt(s, o, v);
}
#endif
