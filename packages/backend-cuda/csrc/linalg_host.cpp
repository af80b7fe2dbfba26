// Thin QR on the host: the matrix is copied down, factored by Householder reflections in double,
// and the factors copied back. GaLore's projections need QR rarely (SVD is the hot path), so a
// simple, robust host routine is the right trade. R's diagonal is made non-negative, which makes
// the factorisation unique for full-rank input.
#include <cmath>
#include <vector>

#include "internal.h"

namespace gc {
namespace {

// In-place Householder QR of row-major a (m x n, m >= n). Returns q (m x n) and r (n x n).
void householder_qr(std::vector<double> &a, int64_t m, int64_t n, std::vector<double> &q, std::vector<double> &r) {
  std::vector<std::vector<double>> reflectors(n);
  for (int64_t j = 0; j < n; j++) {
    std::vector<double> v(m - j);
    double norm2 = 0;
    for (int64_t i = j; i < m; i++) {
      v[i - j] = a[i * n + j];
      norm2 += v[i - j] * v[i - j];
    }
    double norm = std::sqrt(norm2);
    if (norm == 0) continue;  // nothing to eliminate: the reflector is the identity
    double alpha = v[0] > 0 ? -norm : norm;
    v[0] -= alpha;
    double vnorm2 = 0;
    for (double x : v) vnorm2 += x * x;
    if (vnorm2 == 0) continue;
    for (int64_t c = j; c < n; c++) {  // a[j:, c] -= 2 v (v . a[j:, c]) / |v|^2
      double dot = 0;
      for (int64_t i = j; i < m; i++) dot += v[i - j] * a[i * n + c];
      double f = 2 * dot / vnorm2;
      for (int64_t i = j; i < m; i++) a[i * n + c] -= f * v[i - j];
    }
    for (double &x : v) x /= std::sqrt(vnorm2);
    reflectors[j] = std::move(v);
  }
  r.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = i; c < n; c++) r[i * n + c] = a[i * n + c];
  // q = H_0 H_1 ... H_{n-1} applied to the first n columns of the identity.
  q.assign(m * n, 0.0);
  for (int64_t i = 0; i < n; i++) q[i * n + i] = 1;
  for (int64_t j = n - 1; j >= 0; j--) {
    const std::vector<double> &v = reflectors[j];
    if (v.empty()) continue;
    for (int64_t c = 0; c < n; c++) {
      double dot = 0;
      for (int64_t i = j; i < m; i++) dot += v[i - j] * q[i * n + c];
      for (int64_t i = j; i < m; i++) q[i * n + c] -= 2 * dot * v[i - j];
    }
  }
  for (int64_t i = 0; i < n; i++) {
    if (r[i * n + i] >= 0) continue;
    for (int64_t c = i; c < n; c++) r[i * n + c] = -r[i * n + c];
    for (int64_t row = 0; row < m; row++) q[row * n + i] = -q[row * n + i];
  }
}

int upload_as(const std::vector<double> &host, const gc_buf &dst) {
  std::vector<float> f(host.begin(), host.end());
  Workspace ws;
  GC_TRY(ws.alloc(f.size() * sizeof(float)));
  GC_TRY(gc_upload(ws.as<void>(), f.data(), f.size() * sizeof(float)));
  return gc_cast(ws.buf(GC_F32, static_cast<int64_t>(f.size())), dst);
}

}  // namespace
}  // namespace gc

using namespace gc;

extern "C" int gc_qr(gc_buf a, int64_t m, int64_t n, gc_buf q, gc_buf r) {
  const char *where = "qr";
  GC_TRY(require_init(where));
  if (n < 0 || m < n) return fail(GC_ERR_ARGUMENT, "%s: expected m >= n >= 0, got m = %lld, n = %lld", where, (long long)m, (long long)n);
  GC_TRY(check_float(where, "a", a));
  GC_TRY(check_float(where, "q", q));
  GC_TRY(check_float(where, "r", r));
  GC_TRY(check_size(where, "a", a, m * n));
  GC_TRY(check_size(where, "q", q, m * n));
  GC_TRY(check_size(where, "r", r, n * n));
  if (n == 0) return GC_OK;
  a.size = m * n;  // exactly the elements used, so the cast sees matching sizes
  Workspace a32;
  GC_TRY(a32.alloc(size_t(m) * n * sizeof(float)));
  GC_TRY(gc_cast(a, a32.buf(GC_F32, m * n)));
  std::vector<float> host(size_t(m) * n);
  GC_TRY(gc_download(host.data(), a32.as<void>(), host.size() * sizeof(float)));
  std::vector<double> work(host.begin(), host.end()), qh, rh;
  householder_qr(work, m, n, qh, rh);
  GC_TRY(upload_as(qh, gc_buf{q.data, q.dtype, m * n}));
  return upload_as(rh, gc_buf{r.data, r.dtype, n * n});
}
