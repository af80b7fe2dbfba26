// Standalone self-test of the C ABI: runs every kernel on the GPU and compares it with a CPU
// reference written here in plain C++ (double precision). Needs no Node. Prints one line per
// check and a closing "N passed, N failed"; exits 1 when a check failed, and 0 with a clear
// message when there is no CUDA driver or device.
//
//   build/Release/galore_cuda_selftest            all checks
//   build/Release/galore_cuda_selftest matmul     only checks whose name contains "matmul"
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "galore_cuda.h"

namespace {

using Vec = std::vector<double>;

int g_passed = 0, g_failed = 0;
const char *g_filter = nullptr;
std::mt19937 g_rng(1234);

void report(const std::string &name, bool ok, const std::string &detail = "") {
  (ok ? g_passed : g_failed)++;
  std::printf("%s  %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : "  ", detail.c_str());
}

bool call_ok(const std::string &name, int status) {
  if (status == GC_OK) return true;
  report(name, false, std::string("error: ") + gc_last_error());
  return false;
}

const char *dtype_label(gc_dtype d) {
  switch (d) {
    case GC_F32: return "f32";
    case GC_BF16: return "bf16";
    case GC_F16: return "f16";
    case GC_I32: return "i32";
    default: return "u8";
  }
}

size_t elem_bytes(gc_dtype d) { return d == GC_F32 || d == GC_I32 ? 4 : d == GC_U8 ? 1 : 2; }

// Rounds a value the way storing it in `dtype` does.
double round_to(gc_dtype d, double v) {
  switch (d) {
    case GC_F32: return float(v);
    case GC_BF16: return __bfloat162float(__float2bfloat16_rn(float(v)));
    case GC_F16: return __half2float(__float2half_rn(float(v)));
    case GC_I32: return double(int32_t(v));
    default: return double(uint8_t(int32_t(v)));
  }
}

// A device buffer that frees itself.
class Dev {
 public:
  Dev(gc_dtype dtype, int64_t size) : buf_{nullptr, dtype, size} {
    if (gc_alloc(size_t(size) * elem_bytes(dtype), &buf_.data) != GC_OK) std::fprintf(stderr, "alloc failed: %s\n", gc_last_error());
  }
  Dev(gc_dtype dtype, const Vec &values) : Dev(dtype, int64_t(values.size())) { set(values); }
  ~Dev() { gc_free(buf_.data); }
  Dev(const Dev &) = delete;
  Dev &operator=(const Dev &) = delete;
  const gc_buf &buf() const { return buf_; }
  operator gc_buf() const { return buf_; }

  void set(const Vec &values) {
    std::vector<unsigned char> raw(values.size() * elem_bytes(buf_.dtype));
    for (size_t i = 0; i < values.size(); i++) {
      float f = float(values[i]);
      switch (buf_.dtype) {
        case GC_F32: std::memcpy(&raw[i * 4], &f, 4); break;
        case GC_BF16: { __nv_bfloat16 h = __float2bfloat16_rn(f); std::memcpy(&raw[i * 2], &h, 2); break; }
        case GC_F16: { __half h = __float2half_rn(f); std::memcpy(&raw[i * 2], &h, 2); break; }
        case GC_I32: { int32_t v = int32_t(values[i]); std::memcpy(&raw[i * 4], &v, 4); break; }
        default: raw[i] = uint8_t(int32_t(values[i])); break;
      }
    }
    gc_upload(buf_.data, raw.data(), raw.size());
  }

  Vec get() const {
    std::vector<unsigned char> raw(size_t(buf_.size) * elem_bytes(buf_.dtype));
    Vec out(buf_.size);
    if (gc_download(raw.data(), buf_.data, raw.size()) != GC_OK) {
      std::fprintf(stderr, "download failed: %s\n", gc_last_error());
      return Vec(buf_.size, NAN);
    }
    for (size_t i = 0; i < out.size(); i++) {
      switch (buf_.dtype) {
        case GC_F32: { float f; std::memcpy(&f, &raw[i * 4], 4); out[i] = f; break; }
        case GC_BF16: { __nv_bfloat16 h; std::memcpy(&h, &raw[i * 2], 2); out[i] = __bfloat162float(h); break; }
        case GC_F16: { __half h; std::memcpy(&h, &raw[i * 2], 2); out[i] = __half2float(h); break; }
        case GC_I32: { int32_t v; std::memcpy(&v, &raw[i * 4], 4); out[i] = v; break; }
        default: out[i] = raw[i]; break;
      }
    }
    return out;
  }

 private:
  gc_buf buf_;
};

Vec random_vec(int64_t n, double lo = -1, double hi = 1) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Vec v(n);
  for (double &x : v) x = dist(g_rng);
  return v;
}

Vec rounded(gc_dtype d, Vec v) {
  for (double &x : v) x = round_to(d, x);
  return v;
}

// Compares element-wise with |got - want| <= atol + rtol * |want|; NaN matches NaN, inf matches inf.
void expect_close(const std::string &name, const Vec &got, const Vec &want, double atol, double rtol) {
  if (got.size() != want.size()) {
    report(name, false, "size " + std::to_string(got.size()) + " != " + std::to_string(want.size()));
    return;
  }
  double worst = 0;
  size_t worst_i = 0;
  bool ok = true;
  for (size_t i = 0; i < got.size(); i++) {
    double g = got[i], w = want[i];
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g)) ok = false, worst_i = i;
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) ok = false, worst_i = i;
      continue;
    }
    double err = std::fabs(g - w) - (atol + rtol * std::fabs(w));
    if (err > worst) worst = err, worst_i = i;
  }
  ok = ok && worst <= 0;
  char detail[160] = "";
  if (!ok && !got.empty())
    std::snprintf(detail, sizeof detail, "at %zu: got %.9g, want %.9g", worst_i, got[worst_i], want[worst_i]);
  report(name, ok, detail);
}

double tolerance(gc_dtype d) { return d == GC_F32 ? 1e-5 : d == GC_BF16 ? 1e-2 : 2e-3; }

gc_layout make_layout(const std::vector<int64_t> &shape, const std::vector<int64_t> &as, const std::vector<int64_t> &bs,
                      const std::vector<int64_t> &cs = {}) {
  gc_layout l{};
  l.ndim = int(shape.size());
  for (size_t d = 0; d < shape.size(); d++) {
    l.shape[d] = shape[d];
    l.a_strides[d] = as[d];
    l.b_strides[d] = bs[d];
    l.cond_strides[d] = cs.empty() ? 0 : cs[d];
  }
  return l;
}

// Offset of linear index i of `shape` under `strides`.
int64_t strided(int64_t i, const std::vector<int64_t> &shape, const int64_t *strides) {
  int64_t off = 0;
  for (int d = int(shape.size()) - 1; d >= 0; d--) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

// ---------------------------------------------------------------------------------------------

void test_fill_cast() {
  for (gc_dtype d : {GC_F32, GC_BF16, GC_F16, GC_I32, GC_U8}) {
    Dev out(d, 1000);
    if (!call_ok("fill", gc_fill(out, 3.25))) return;
    expect_close(std::string("fill ") + dtype_label(d), out.get(), Vec(1000, round_to(d, 3.25)), 0, 0);
  }
  Vec x = random_vec(777, -300, 300);
  Dev src(GC_F32, x);
  for (gc_dtype d : {GC_BF16, GC_F16, GC_I32}) {
    Dev out(d, 777);
    if (!call_ok("cast", gc_cast(src, out))) return;
    Vec want(777);
    for (size_t i = 0; i < x.size(); i++) want[i] = round_to(d, float(x[i]));
    expect_close(std::string("cast f32->") + dtype_label(d), out.get(), want, 0, 0);
  }
  Vec big = {16777217, -2147483647, 123456789, 0};  // int32 values a float cannot hold
  Dev ints(GC_I32, big), copy(GC_I32, 4);
  gc_cast(ints, copy);
  expect_close("cast i32->i32 exact", copy.get(), big, 0, 0);
}

void test_copy() {
  // A [2, 3, 4] tensor permuted to [4, 2, 3] (a strided read), for a raw and a converting copy.
  Vec x = random_vec(24);
  std::vector<int64_t> shape = {4, 2, 3};
  gc_view sv{}, dv{};
  sv.ndim = dv.ndim = 3;
  int64_t src_strides[3] = {1, 12, 4}, dst_strides[3] = {6, 3, 1};
  for (int d = 0; d < 3; d++) {
    sv.shape[d] = dv.shape[d] = shape[d];
    sv.strides[d] = src_strides[d];
    dv.strides[d] = dst_strides[d];
  }
  Vec want(24);
  for (int64_t i = 0; i < 24; i++) want[i] = x[strided(i, shape, src_strides)];
  for (gc_dtype d : {GC_F32, GC_BF16}) {
    Dev src(GC_F32, x), dst(d, 24);
    if (!call_ok("copy", gc_copy(src, &sv, dst, &dv))) return;
    expect_close(std::string("copy permute f32->") + dtype_label(d), dst.get(), rounded(d, want), 0, 0);
  }
  // Offsets: copy a window of 5 elements from offset 3 to offset 7.
  gc_view a{}, b{};
  a.ndim = b.ndim = 1;
  a.shape[0] = b.shape[0] = 5;
  a.strides[0] = b.strides[0] = 1;
  a.offset = 3;
  b.offset = 7;
  Vec y = random_vec(12);
  Dev src(GC_F32, y), dst(GC_F32, Vec(12, 0.0));
  gc_copy(src, &a, dst, &b);
  Vec w(12, 0.0);
  for (int i = 0; i < 5; i++) w[7 + i] = float(y[3 + i]);
  expect_close("copy offsets", dst.get(), w, 0, 0);
  a.offset = 9;  // reaches past the end: must be refused
  report("copy rejects a view past the end", gc_copy(src, &a, dst, &b) == GC_ERR_ARGUMENT, gc_last_error());
}

double ref_unary(int op, double x) {
  switch (op) {
    case GC_NEG: return -x;
    case GC_EXP: return std::exp(x);
    case GC_LOG: return std::log(x);
    case GC_SQRT: return std::sqrt(x);
    case GC_RSQRT: return 1 / std::sqrt(x);
    case GC_ABS: return std::fabs(x);
    case GC_SIGMOID: return 1 / (1 + std::exp(-x));
    case GC_SILU: return x / (1 + std::exp(-x));
    case GC_TANH: return std::tanh(x);
    case GC_RELU: return x > 0 ? x : 0;
    case GC_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;
    case GC_SQUARE: return x * x;
    case GC_RECIPROCAL: return 1 / x;
    case GC_SIN: return std::sin(x);
    default: return std::cos(x);
  }
}

void test_unary() {
  Vec x = random_vec(1000, 0.1, 3);
  for (size_t i = 0; i < x.size(); i += 2) x[i] = -x[i];
  for (gc_dtype d : {GC_F32, GC_BF16}) {
    for (int op = 0; op < GC_UNARY_COUNT; op++) {
      bool positive_only = op == GC_LOG || op == GC_SQRT || op == GC_RSQRT;
      Vec in = x;
      if (positive_only) for (double &v : in) v = std::fabs(v);
      in = rounded(d, in);
      Dev src(d, in), out(d, int64_t(in.size()));
      if (!call_ok("unary", gc_unary(op, src, out))) return;
      Vec want(in.size());
      for (size_t i = 0; i < in.size(); i++) want[i] = round_to(d, ref_unary(op, in[i]));
      expect_close("unary op " + std::to_string(op) + " " + dtype_label(d), out.get(), want, tolerance(d), tolerance(d));
    }
  }
}

double ref_binary(int op, double a, double b) {
  switch (op) {
    case GC_ADD: return a + b;
    case GC_SUB: return a - b;
    case GC_MUL: return a * b;
    case GC_DIV: return a / b;
    case GC_POW: return std::pow(a, b);
    case GC_MAXIMUM: return std::max(a, b);
    case GC_MINIMUM: return std::min(a, b);
    case GC_EQ: return a == b;
    case GC_NE: return a != b;
    case GC_LT: return a < b;
    case GC_LE: return a <= b;
    case GC_GT: return a > b;
    default: return a >= b;
  }
}

void test_binary_where() {
  // [4, 3, 5] = a [4, 1, 5] (op) b [1, 3, 5]
  std::vector<int64_t> shape = {4, 3, 5};
  std::vector<int64_t> as = {5, 0, 1}, bs = {0, 5, 1};
  Vec a = rounded(GC_F32, random_vec(20, 0.5, 2)), b = rounded(GC_F32, random_vec(15, 0.5, 2));
  b[3] = a[3];  // some equal pairs for the comparisons
  gc_layout l = make_layout(shape, as, bs);
  Dev da(GC_F32, a), db(GC_F32, b);
  for (int op = 0; op < GC_BINARY_COUNT; op++) {
    bool compare = op >= GC_EQ;
    gc_dtype od = compare ? GC_U8 : GC_F32;
    Dev out(od, 60);
    if (!call_ok("binary", gc_binary(op, da, db, out, &l))) return;
    Vec want(60);
    for (int64_t i = 0; i < 60; i++) want[i] = round_to(od, ref_binary(op, a[strided(i, shape, as.data())], b[strided(i, shape, bs.data())]));
    expect_close("binary op " + std::to_string(op) + " broadcast", out.get(), want, 1e-6, 1e-6);
  }
  Vec ia = {2147483000, 7, -5}, ib = {600, 3, 2};
  Dev xa(GC_I32, ia), xb(GC_I32, ib), xo(GC_I32, 3);
  gc_layout l1 = make_layout({3}, {1}, {1});
  gc_binary(GC_ADD, xa, xb, xo, &l1);
  expect_close("binary add int32 exact", xo.get(), {2147483600, 10, -3}, 0, 0);

  Vec cond = {1, 0, 1, 0, 0};
  Dev dc(GC_U8, cond), out(GC_F32, 15);
  gc_layout lw = make_layout({3, 5}, {5, 1}, {0, 1}, {0, 1});
  if (!call_ok("where", gc_where(dc, da, db, out, &lw))) return;
  Vec want(15);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 5; c++) want[r * 5 + c] = cond[c] != 0 ? a[r * 5 + c] : b[c];
  expect_close("where broadcast", out.get(), want, 0, 0);
}

void test_reduce() {
  const int64_t outer = 3, reduce = 1000, inner_cases[2] = {1, 7};
  for (int64_t inner : inner_cases) {
    Vec x = rounded(GC_F32, random_vec(outer * reduce * inner));
    x[5 * inner] = 40;  // a clear maximum in row 0
    Dev dx(GC_F32, x);
    for (int op = 0; op < GC_REDUCE_COUNT; op++) {
      Dev out(GC_F32, outer * inner);
      if (!call_ok("reduce", gc_reduce(op, dx, out, outer, reduce, inner))) return;
      Vec want(outer * inner);
      for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
          double acc = op == GC_SUM ? 0 : x[o * reduce * inner + i];
          for (int64_t j = 0; j < reduce; j++) {
            double v = x[(o * reduce + j) * inner + i];
            acc = op == GC_SUM ? acc + v : op == GC_MAX ? std::max(acc, v) : std::min(acc, v);
          }
          want[o * inner + i] = acc;
        }
      expect_close("reduce op " + std::to_string(op) + " inner " + std::to_string(inner), out.get(), want, 1e-4, 1e-5);
    }
    Dev am(GC_I32, outer * inner);
    if (!call_ok("argmax", gc_argmax(dx, am, outer, reduce, inner))) return;
    Vec want(outer * inner);
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t best = 0;
        for (int64_t j = 1; j < reduce; j++)
          if (x[(o * reduce + j) * inner + i] > x[(o * reduce + best) * inner + i]) best = j;
        want[o * inner + i] = double(best);
      }
    expect_close("argmax inner " + std::to_string(inner), am.get(), want, 0, 0);
  }
  Dev ties(GC_F32, Vec{1, 5, 5, 2, 5}), am(GC_I32, 1);
  gc_argmax(ties, am, 1, 5, 1);
  expect_close("argmax first of ties", am.get(), {1}, 0, 0);
}

Vec ref_matmul(const Vec &a, const Vec &b, const Vec &init, const gc_matmul_params &p) {
  Vec out(p.batch * p.m * p.n);
  for (int64_t z = 0; z < p.batch; z++)
    for (int64_t i = 0; i < p.m; i++)
      for (int64_t j = 0; j < p.n; j++) {
        double acc = p.accumulate ? init[(z * p.m + i) * p.n + j] : 0;
        for (int64_t k = 0; k < p.k; k++) {
          double av = a[z * p.a_batch_stride + (p.trans_a ? k * p.m + i : i * p.k + k)];
          double bv = b[z * p.b_batch_stride + (p.trans_b ? j * p.k + k : k * p.n + j)];
          acc += av * bv;
        }
        out[(z * p.m + i) * p.n + j] = acc;
      }
  return out;
}

void test_matmul(bool libraries) {
  gc_use_libraries(libraries);
  const char *path = libraries ? "libraries" : "own kernels";
  struct Case { int64_t batch, m, n, k; bool broadcast_b; };
  for (Case c : {Case{1, 70, 50, 33, false}, Case{3, 17, 129, 64, true}, Case{2, 128, 64, 96, false}}) {
    for (gc_dtype d : {GC_F32, GC_BF16, GC_F16}) {
      for (int t = 0; t < 4; t++) {
        gc_matmul_params p{c.batch, c.m, c.n, c.k, t & 1, (t >> 1) & 1, c.m * c.k, c.broadcast_b ? 0 : c.k * c.n, t == 3};
        Vec a = rounded(d, random_vec(c.batch * c.m * c.k)), b = rounded(d, random_vec(c.batch * c.k * c.n));
        Vec init = rounded(GC_F32, random_vec(c.batch * c.m * c.n));
        Dev da(d, a), db(d, b), out(GC_F32, init);
        if (!call_ok("matmul", gc_matmul(da, db, out, &p))) return;
        char name[160];
        std::snprintf(name, sizeof name, "matmul %s %s b%lld %lldx%lldx%lld ta%d tb%d acc%d", path, dtype_label(d), (long long)c.batch,
                      (long long)c.m, (long long)c.n, (long long)c.k, p.trans_a, p.trans_b, p.accumulate);
        expect_close(name, out.get(), ref_matmul(a, b, init, p), 1e-3 * std::sqrt(double(c.k)), 1e-3);
      }
    }
  }
  // bf16 output rounds once at the end
  gc_matmul_params p{1, 40, 40, 40, 0, 0, 0, 0, 0};
  Vec a = rounded(GC_BF16, random_vec(1600)), b = rounded(GC_BF16, random_vec(1600));
  Dev da(GC_BF16, a), db(GC_BF16, b), out(GC_BF16, 1600);
  gc_matmul(da, db, out, &p);
  expect_close(std::string("matmul ") + path + " bf16 out", out.get(), rounded(GC_BF16, ref_matmul(a, b, {}, p)), 2e-2, 1e-2);
  gc_use_libraries(1);
}

// The reference stream of core/src/random.ts, in double as JavaScript computes it.
void philox_ref(uint64_t counter, uint32_t k0, uint32_t k1, uint32_t out[4]) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = uint64_t(0xd2511f53u) * c0, p1 = uint64_t(0xcd9e8d57u) * c2;
    uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9e3779b9u;
    k1 += 0xbb67ae85u;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void test_random() {
  const int64_t n = 1001;
  const uint32_t k0 = 0x12345678u, k1 = 42;
  const uint64_t offset = (uint64_t(1) << 32) + 5;  // crosses into the counter's high word
  for (int normal = 0; normal < 2; normal++) {
    double a = normal ? 0.5 : -2, b = normal ? 1.5 : 3;
    Dev out(GC_F32, n);
    if (!call_ok("random", gc_random(out, normal, k0, k1, offset, a, b))) return;
    Vec want(n);
    for (int64_t blk = 0; blk * 4 < n; blk++) {
      uint32_t w[4];
      philox_ref(offset + blk, k0, k1, w);
      for (int lane = 0; lane < 4 && blk * 4 + lane < n; lane++) {
        if (!normal) want[blk * 4 + lane] = float(a + (b - a) * ((w[lane] >> 8) * 0x1p-24));
      }
      if (normal)
        for (int pair = 0; pair < 2; pair++) {
          int64_t i = blk * 4 + pair * 2;
          if (i >= n) break;
          double u0 = ((w[pair * 2] >> 8) + 0.5) * 0x1p-24, u1 = ((w[pair * 2 + 1] >> 8) + 0.5) * 0x1p-24;
          double r = std::sqrt(-2 * std::log(u0));
          want[i] = float(a + b * r * std::cos(2 * M_PI * u1));
          if (i + 1 < n) want[i + 1] = float(a + b * r * std::sin(2 * M_PI * u1));
        }
    }
    // Uniform is exact; normal may differ in the last float bit where libm and CUDA round apart.
    expect_close(normal ? "random normal matches the Philox reference" : "random uniform matches the Philox reference", out.get(),
                 want, normal ? 1e-6 : 0, normal ? 2.5e-7 : 0);
  }
}

void ref_softmax_row(const double *x, double *out, int64_t cols, int64_t limit, bool log) {
  double mx = -INFINITY, sum = 0;
  for (int64_t j = 0; j < limit; j++) mx = std::max(mx, x[j]);
  for (int64_t j = 0; j < limit; j++) sum += std::exp(x[j] - mx);
  for (int64_t j = 0; j < cols; j++)
    out[j] = j >= limit ? (log ? -INFINITY : 0) : log ? x[j] - mx - std::log(sum) : std::exp(x[j] - mx) / sum;
}

void test_softmax() {
  const int64_t rows = 12, cols = 700, qlen = 4, offset = 1;
  Vec x = rounded(GC_F32, random_vec(rows * cols, -5, 5));
  Dev dx(GC_F32, x);
  for (int log = 0; log < 2; log++) {
    for (int causal = 0; causal < 2; causal++) {
      Dev out(GC_F32, rows * cols);
      if (!call_ok("softmax", gc_softmax(dx, out, rows, cols, causal ? qlen : 0, offset, log))) return;
      Vec want(rows * cols);
      for (int64_t r = 0; r < rows; r++) ref_softmax_row(&x[r * cols], &want[r * cols], cols, causal ? r % qlen + offset + 1 : cols, log);
      expect_close(std::string(log ? "logSoftmax" : "softmax") + (causal ? " causal" : ""), out.get(), want, 1e-6, 1e-5);
    }
  }
  Vec y(rows * cols), ly(rows * cols), dy = rounded(GC_F32, random_vec(rows * cols));
  for (int64_t r = 0; r < rows; r++) {
    ref_softmax_row(&x[r * cols], &y[r * cols], cols, cols, false);
    ref_softmax_row(&x[r * cols], &ly[r * cols], cols, cols, true);
  }
  y = rounded(GC_F32, y);
  ly = rounded(GC_F32, ly);
  Dev dy_d(GC_F32, dy);
  for (int log = 0; log < 2; log++) {
    const Vec &yy = log ? ly : y;
    Dev yd(GC_F32, yy), out(GC_F32, rows * cols);
    gc_softmax_backward(yd, dy_d, out, rows, cols, log);
    Vec want(rows * cols);
    for (int64_t r = 0; r < rows; r++) {
      double acc = 0;
      for (int64_t j = 0; j < cols; j++) acc += log ? dy[r * cols + j] : dy[r * cols + j] * yy[r * cols + j];
      for (int64_t j = 0; j < cols; j++) {
        int64_t i = r * cols + j;
        want[i] = log ? dy[i] - std::exp(yy[i]) * acc : yy[i] * (dy[i] - acc);
      }
    }
    expect_close(log ? "logSoftmaxBackward" : "softmaxBackward", out.get(), want, 1e-5, 1e-4);
  }
}

void test_cross_entropy() {
  const int64_t rows = 9, cols = 1000, ignore = -100;
  Vec x = rounded(GC_BF16, random_vec(rows * cols, -4, 4));
  Vec t(rows);
  for (int64_t r = 0; r < rows; r++) t[r] = double((r * 37) % cols);
  t[4] = double(ignore);
  Vec dl = rounded(GC_F32, random_vec(rows, 0.5, 1.5));
  Dev dx(GC_BF16, x), dt(GC_I32, t), loss(GC_F32, rows), dloss(GC_F32, dl), grad(GC_F32, rows * cols);
  if (!call_ok("crossEntropy", gc_cross_entropy(dx, dt, loss, rows, cols, ignore))) return;
  if (!call_ok("crossEntropyBackward", gc_cross_entropy_backward(dx, dt, dloss, grad, rows, cols, ignore))) return;
  Vec want_loss(rows, 0.0), want_grad(rows * cols, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    if (t[r] == ignore) continue;
    Vec p(cols);
    ref_softmax_row(&x[r * cols], p.data(), cols, cols, false);
    double mx = *std::max_element(&x[r * cols], &x[r * cols] + cols), sum = 0;
    for (int64_t j = 0; j < cols; j++) sum += std::exp(x[r * cols + j] - mx);
    want_loss[r] = mx + std::log(sum) - x[r * cols + int64_t(t[r])];
    for (int64_t j = 0; j < cols; j++) want_grad[r * cols + j] = dl[r] * (p[j] - (j == int64_t(t[r]) ? 1 : 0));
  }
  expect_close("crossEntropy (bf16 logits, ignore index)", loss.get(), want_loss, 1e-5, 1e-5);
  expect_close("crossEntropyBackward", grad.get(), want_grad, 1e-6, 1e-4);
  Dev bad(GC_I32, Vec{0, 5000, 1, 2, 3, 4, 5, 6, 7});
  gc_cross_entropy(dx, bad, loss, rows, cols, ignore);
  report("crossEntropy flags an out-of-range target", gc_synchronize() == GC_ERR_KERNEL, gc_last_error());
}

void test_rms_norm() {
  const int64_t rows = 6, cols = 1100;
  const double eps = 1e-6;
  Vec x = rounded(GC_BF16, random_vec(rows * cols)), w = rounded(GC_BF16, random_vec(cols, 0.5, 1.5));
  Vec dy = rounded(GC_BF16, random_vec(rows * cols));
  Dev dx(GC_BF16, x), dw(GC_BF16, w), out(GC_F32, rows * cols), rstd(GC_F32, rows), ddy(GC_BF16, dy);
  Dev gx(GC_F32, rows * cols), gw(GC_F32, cols);
  if (!call_ok("rmsNorm", gc_rms_norm(dx, dw, out, rstd, rows, cols, eps))) return;
  if (!call_ok("rmsNormBackward", gc_rms_norm_backward(dx, dw, rstd, ddy, gx, gw, rows, cols))) return;
  Vec want(rows * cols), want_r(rows), want_gx(rows * cols), want_gw(cols, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    double ss = 0, dot = 0;
    for (int64_t j = 0; j < cols; j++) ss += x[r * cols + j] * x[r * cols + j];
    double rs = 1 / std::sqrt(ss / cols + eps);
    want_r[r] = rs;
    for (int64_t j = 0; j < cols; j++) {
      int64_t i = r * cols + j;
      want[i] = x[i] * rs * w[j];
      dot += dy[i] * w[j] * x[i];
      want_gw[j] += dy[i] * x[i] * rs;
    }
    for (int64_t j = 0; j < cols; j++) {
      int64_t i = r * cols + j;
      want_gx[i] = rs * dy[i] * w[j] - x[i] * rs * rs * rs * dot / cols;
    }
  }
  expect_close("rmsNorm out", out.get(), want, 1e-5, 1e-5);
  expect_close("rmsNorm rstd", rstd.get(), want_r, 1e-6, 1e-5);
  expect_close("rmsNormBackward dx", gx.get(), want_gx, 1e-5, 1e-4);
  expect_close("rmsNormBackward dweight", gw.get(), want_gw, 1e-4, 1e-4);
}

void test_layer_norm() {
  const int64_t rows = 6, cols = 1100;
  const double eps = 1e-5;
  Vec x = rounded(GC_BF16, random_vec(rows * cols, -1, 5)), w = rounded(GC_BF16, random_vec(cols, 0.5, 1.5));
  Vec b = rounded(GC_BF16, random_vec(cols)), dy = rounded(GC_BF16, random_vec(rows * cols));
  Dev dx(GC_BF16, x), dw(GC_BF16, w), db(GC_BF16, b), out(GC_F32, rows * cols), mean(GC_F32, rows), rstd(GC_F32, rows);
  Dev ddy(GC_BF16, dy), gx(GC_F32, rows * cols), gw(GC_F32, cols), gb(GC_F32, cols);
  if (!call_ok("layerNorm", gc_layer_norm(dx, dw, db, out, mean, rstd, rows, cols, eps))) return;
  if (!call_ok("layerNormBackward", gc_layer_norm_backward(dx, dw, mean, rstd, ddy, gx, gw, gb, rows, cols))) return;
  Vec want(rows * cols), want_m(rows), want_r(rows), want_gx(rows * cols), want_gw(cols, 0.0), want_gb(cols, 0.0);
  for (int64_t r = 0; r < rows; r++) {
    double sum = 0, ss = 0, sg = 0, sgx = 0;
    for (int64_t j = 0; j < cols; j++) sum += x[r * cols + j];
    const double mu = sum / cols;
    for (int64_t j = 0; j < cols; j++) ss += (x[r * cols + j] - mu) * (x[r * cols + j] - mu);
    const double rs = 1 / std::sqrt(ss / cols + eps);
    want_m[r] = mu;
    want_r[r] = rs;
    for (int64_t j = 0; j < cols; j++) {
      const int64_t i = r * cols + j;
      const double xhat = (x[i] - mu) * rs, g = dy[i] * w[j];
      want[i] = xhat * w[j] + b[j];
      sg += g;
      sgx += g * xhat;
      want_gw[j] += dy[i] * xhat;
      want_gb[j] += dy[i];
    }
    for (int64_t j = 0; j < cols; j++) {
      const int64_t i = r * cols + j;
      want_gx[i] = rs * (dy[i] * w[j] - sg / cols - (x[i] - mu) * rs * sgx / cols);
    }
  }
  expect_close("layerNorm out", out.get(), want, 1e-5, 1e-5);
  expect_close("layerNorm mean", mean.get(), want_m, 1e-6, 1e-5);
  expect_close("layerNorm rstd", rstd.get(), want_r, 1e-6, 1e-5);
  expect_close("layerNormBackward dx", gx.get(), want_gx, 1e-5, 1e-4);
  expect_close("layerNormBackward dweight", gw.get(), want_gw, 1e-4, 1e-4);
  expect_close("layerNormBackward dbias", gb.get(), want_gb, 1e-4, 1e-4);
}

void test_gelu() {
  const int64_t n = 5000;
  Vec x = rounded(GC_F32, random_vec(n, -9, 9)), dy = rounded(GC_F32, random_vec(n));
  Dev dx(GC_F32, x), ddy(GC_F32, dy), out(GC_F32, n), grad(GC_F32, n);
  if (!call_ok("gelu", gc_gelu(dx, out))) return;
  if (!call_ok("geluBackward", gc_gelu_backward(dx, ddy, grad))) return;
  Vec want(n), want_g(n);
  for (int64_t i = 0; i < n; i++) {
    const double cdf = 0.5 * std::erfc(-x[i] / std::sqrt(2.0)), pdf = std::exp(-0.5 * x[i] * x[i]) / std::sqrt(2 * 3.141592653589793);
    want[i] = x[i] * cdf;
    want_g[i] = dy[i] * (cdf + x[i] * pdf);
  }
  expect_close("gelu", out.get(), want, 1e-6, 1e-5);
  expect_close("geluBackward", grad.get(), want_g, 1e-6, 1e-5);
}

void test_rope() {
  const int64_t batch = 2, seq = 5, heads = 3, dim = 8, half = dim / 2;
  Vec x = rounded(GC_F32, random_vec(batch * seq * heads * dim)), cs(seq * half), sn(seq * half);
  for (int64_t s = 0; s < seq; s++)
    for (int64_t i = 0; i < half; i++) {
      double angle = s * std::pow(10000.0, -2.0 * i / dim);
      cs[s * half + i] = float(std::cos(angle));
      sn[s * half + i] = float(std::sin(angle));
    }
  Dev dx(GC_F32, x), dc(GC_F32, cs), ds(GC_F32, sn), out(GC_F32, x.size()), back(GC_F32, x.size());
  if (!call_ok("rope", gc_rope(dx, dc, ds, out, batch, seq, heads, dim, 0))) return;
  gc_rope(out, dc, ds, back, batch, seq, heads, dim, 1);
  Vec want(x.size());
  for (int64_t v = 0; v < batch * seq * heads; v++) {
    int64_t s = (v / heads) % seq;
    for (int64_t i = 0; i < half; i++) {
      double x1 = x[v * dim + i], x2 = x[v * dim + i + half], c = cs[s * half + i], sv = sn[s * half + i];
      want[v * dim + i] = x1 * c - x2 * sv;
      want[v * dim + i + half] = x2 * c + x1 * sv;
    }
  }
  expect_close("rope", out.get(), want, 1e-6, 1e-5);
  expect_close("rope inverse undoes rope", back.get(), x, 1e-5, 1e-5);
}

void test_silu_adamw() {
  const int64_t n = 5000;
  Vec g = rounded(GC_F32, random_vec(n, -6, 6)), u = rounded(GC_F32, random_vec(n)), dy = rounded(GC_F32, random_vec(n));
  Dev dg(GC_F32, g), du(GC_F32, u), ddy(GC_F32, dy), out(GC_F32, n), gg(GC_F32, n), gu(GC_F32, n);
  if (!call_ok("siluMul", gc_silu_mul(dg, du, out))) return;
  gc_silu_mul_backward(dg, du, ddy, gg, gu);
  Vec want(n), want_g(n), want_u(n);
  for (int64_t i = 0; i < n; i++) {
    double s = 1 / (1 + std::exp(-g[i]));
    want[i] = g[i] * s * u[i];
    want_g[i] = dy[i] * u[i] * s * (1 + g[i] * (1 - s));
    want_u[i] = dy[i] * g[i] * s;
  }
  expect_close("siluMul", out.get(), want, 1e-6, 1e-5);
  expect_close("siluMulBackward dgate", gg.get(), want_g, 1e-6, 1e-5);
  expect_close("siluMulBackward dup", gu.get(), want_u, 1e-6, 1e-5);

  gc_adamw_params p{1e-3, 0.9, 0.999, 1e-8, 0.01, 1 - std::pow(0.9, 3), 1 - std::pow(0.999, 3)};
  Vec param = rounded(GC_F32, random_vec(n)), grad = rounded(GC_F32, random_vec(n));
  Vec m = rounded(GC_F32, random_vec(n, -0.1, 0.1)), v = rounded(GC_F32, random_vec(n, 0, 0.01));
  Dev dp(GC_F32, param), dgr(GC_F32, grad), dm(GC_F32, m), dv(GC_F32, v);
  if (!call_ok("adamw", gc_adamw(dp, dgr, dm, dv, &p))) return;
  Vec wp(n), wm(n), wv(n);
  for (int64_t i = 0; i < n; i++) {
    wm[i] = p.beta1 * m[i] + (1 - p.beta1) * grad[i];
    wv[i] = p.beta2 * v[i] + (1 - p.beta2) * grad[i] * grad[i];
    wp[i] = param[i] * (1 - p.lr * p.weight_decay) - p.lr / p.bias_correction1 * wm[i] / (std::sqrt(wv[i] / p.bias_correction2) + p.eps);
  }
  expect_close("adamw param", dp.get(), wp, 1e-6, 1e-5);
  expect_close("adamw m", dm.get(), wm, 1e-7, 1e-5);
  expect_close("adamw v", dv.get(), wv, 1e-9, 1e-5);
}

void test_quantize() {
  const int64_t n = 1000, block = 256;
  Vec codebook(256);
  for (int i = 0; i < 256; i++) codebook[i] = float(-1 + 2.0 * i / 255);  // a linear codebook
  Vec x = rounded(GC_F32, random_vec(n, -3, 3));
  for (int64_t i = 512; i < 768; i++) x[i] = 0;  // an all-zero block
  Dev dx(GC_F32, x), cb(GC_F32, codebook), codes(GC_U8, n), absmax(GC_F32, (n + block - 1) / block), back(GC_F32, n);
  if (!call_ok("quantizeBlockwise", gc_quantize_blockwise(dx, cb, codes, absmax, block))) return;
  gc_dequantize_blockwise(codes, cb, absmax, back, block);
  Vec want_abs((n + block - 1) / block, 0.0), want_codes(n), want_back(n);
  for (int64_t i = 0; i < n; i++) want_abs[i / block] = std::max(want_abs[i / block], std::fabs(x[i]));
  for (int64_t i = 0; i < n; i++) {
    double q = want_abs[i / block] > 0 ? x[i] / want_abs[i / block] : 0;
    int best = 0;
    for (int c = 1; c < 256; c++)
      if (std::fabs(codebook[c] - q) < std::fabs(codebook[best] - q)) best = c;
    want_codes[i] = best;
    want_back[i] = float(codebook[best] * want_abs[i / block]);
  }
  expect_close("quantizeBlockwise absmax", absmax.get(), want_abs, 0, 0);
  expect_close("quantizeBlockwise codes", codes.get(), want_codes, 0, 0);
  expect_close("dequantizeBlockwise", back.get(), want_back, 0, 0);
}

void test_indexing() {
  const int64_t rows = 10, dim = 33;
  Vec table = rounded(GC_BF16, random_vec(rows * dim)), ids = {3, 0, 9, 3, 3};
  Dev dt(GC_BF16, table), di(GC_I32, ids), out(GC_BF16, 5 * dim), grad(GC_F32, Vec(rows * dim, 0.0));
  if (!call_ok("gatherRows", gc_gather_rows(dt, di, out, dim))) return;
  Vec want(5 * dim), src = rounded(GC_F32, random_vec(5 * dim)), want_grad(rows * dim, 0.0);
  for (int r = 0; r < 5; r++)
    for (int64_t c = 0; c < dim; c++) {
      want[r * dim + c] = table[int64_t(ids[r]) * dim + c];
      want_grad[int64_t(ids[r]) * dim + c] += src[r * dim + c];
    }
  expect_close("gatherRows", out.get(), want, 0, 0);
  Dev ds(GC_F32, src);
  if (!call_ok("scatterAddRows", gc_scatter_add_rows(ds, di, grad, dim))) return;
  expect_close("scatterAddRows (repeated ids)", grad.get(), want_grad, 1e-6, 1e-6);
  Dev bad(GC_I32, Vec{0, 10});
  gc_gather_rows(dt, bad, out, dim);
  report("gatherRows flags an out-of-range id", gc_synchronize() == GC_ERR_KERNEL, gc_last_error());
  report("a flagged error is reported once", gc_synchronize() == GC_OK, gc_last_error());
}

// Checks u s vt = a, u^T u = I, vt vt^T = I and s descending.
void check_svd(const std::string &name, const Vec &a, int64_t m, int64_t n, double tol) {
  int64_t k = std::min(m, n);
  Dev da(GC_F32, a), u(GC_F32, m * k), s(GC_F32, k), vt(GC_F32, k * n);
  if (!call_ok(name, gc_svd(da, m, n, u, s, vt))) return;
  Vec U = u.get(), S = s.get(), V = vt.get();
  double scale = 1e-30;
  for (double x : a) scale = std::max(scale, std::fabs(x));
  double recon = 0, orth_u = 0, orth_v = 0;
  bool descending = true, finite = true;
  for (double x : U) finite = finite && std::isfinite(x);
  for (double x : V) finite = finite && std::isfinite(x);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0;
      for (int64_t c = 0; c < k; c++) acc += U[i * k + c] * S[c] * V[c * n + j];
      recon = std::max(recon, std::fabs(acc - a[i * n + j]) / scale);
    }
  for (int64_t p = 0; p < k; p++)
    for (int64_t q = 0; q < k; q++) {
      double uu = 0, vv = 0;
      for (int64_t i = 0; i < m; i++) uu += U[i * k + p] * U[i * k + q];
      for (int64_t j = 0; j < n; j++) vv += V[p * n + j] * V[q * n + j];
      orth_u = std::max(orth_u, std::fabs(uu - (p == q)));
      orth_v = std::max(orth_v, std::fabs(vv - (p == q)));
    }
  for (int64_t c = 1; c < k; c++) descending = descending && S[c] <= S[c - 1];
  bool signs = true;  // the largest-magnitude entry of each column of u is positive
  for (int64_t c = 0; c < k; c++) {
    int64_t best = 0;
    for (int64_t i = 1; i < m; i++)
      if (std::fabs(U[i * k + c]) > std::fabs(U[best * k + c])) best = i;
    signs = signs && U[best * k + c] >= 0;
  }
  char detail[200];
  std::snprintf(detail, sizeof detail, "reconstruction %.2e, |UtU-I| %.2e, |VVt-I| %.2e%s%s%s", recon, orth_u, orth_v,
                descending ? "" : ", s not descending", finite ? "" : ", not finite", signs ? "" : ", sign convention broken");
  report(name, finite && descending && signs && recon < tol && orth_u < tol && orth_v < tol, detail);
}

void test_svd(bool libraries) {
  gc_use_libraries(libraries);
  std::string path = libraries ? "svd (libraries) " : "svd (own Jacobi) ";
  check_svd(path + "tall 40x12", random_vec(480), 40, 12, 1e-4);
  check_svd(path + "wide 9x31", random_vec(279), 9, 31, 1e-4);
  check_svd(path + "square 64x64", random_vec(4096), 64, 64, 2e-4);
  Vec low(30 * 20);  // rank 2
  Vec p = random_vec(30), q = random_vec(20), r = random_vec(30), t = random_vec(20);
  for (int i = 0; i < 30; i++)
    for (int j = 0; j < 20; j++) low[i * 20 + j] = p[i] * q[j] + r[i] * t[j];
  check_svd(path + "rank-2 30x20", low, 30, 20, 1e-4);
  check_svd(path + "zero 8x5", Vec(40, 0.0), 8, 5, 1e-5);
  gc_use_libraries(1);
}

void test_qr() {
  const int64_t m = 30, n = 12;
  Vec a = rounded(GC_F32, random_vec(m * n));
  Dev da(GC_F32, a), q(GC_F32, m * n), r(GC_F32, n * n);
  if (!call_ok("qr", gc_qr(da, m, n, q, r))) return;
  Vec Q = q.get(), R = r.get();
  double recon = 0, orth = 0, lower = 0, neg_diag = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0;
      for (int64_t c = 0; c < n; c++) acc += Q[i * n + c] * R[c * n + j];
      recon = std::max(recon, std::fabs(acc - a[i * n + j]));
    }
  for (int64_t p = 0; p < n; p++)
    for (int64_t c = 0; c < n; c++) {
      double acc = 0;
      for (int64_t i = 0; i < m; i++) acc += Q[i * n + p] * Q[i * n + c];
      orth = std::max(orth, std::fabs(acc - (p == c)));
      if (c < p) lower = std::max(lower, std::fabs(R[p * n + c]));
    }
  for (int64_t i = 0; i < n; i++) neg_diag = std::min(neg_diag, R[i * n + i]);
  char detail[160];
  std::snprintf(detail, sizeof detail, "reconstruction %.2e, |QtQ-I| %.2e, below diagonal %.2e", recon, orth, lower);
  report("qr", recon < 1e-5 && orth < 1e-5 && lower == 0 && neg_diag >= 0, detail);
}

void test_allocator() {
  gc_memory_stats before{}, after{};
  void *p = nullptr;
  gc_alloc(1 << 20, &p);
  gc_free(p);
  gc_memory_stats_get(&before);
  for (int i = 0; i < 10; i++) {
    gc_alloc(1 << 20, &p);
    gc_free(p);
  }
  gc_memory_stats_get(&after);
  report("allocator reuses freed blocks", after.cuda_mallocs == before.cuda_mallocs);
  report("allocator rejects a double free", gc_free(p) == GC_ERR_ARGUMENT, gc_last_error());
}

struct Test {
  const char *name;
  std::function<void()> run;
};

}  // namespace

int main(int argc, char **argv) {
  g_filter = argc > 1 ? argv[1] : nullptr;
  const std::vector<Test> tests = {
      {"fill_cast", test_fill_cast},
      {"copy", test_copy},
      {"unary", test_unary},
      {"binary_where", test_binary_where},
      {"reduce", test_reduce},
      {"matmul_own", [] { test_matmul(false); }},
      {"matmul_libraries", [] { test_matmul(true); }},
      {"random", test_random},
      {"softmax", test_softmax},
      {"cross_entropy", test_cross_entropy},
      {"rms_norm", test_rms_norm},
      {"layer_norm", test_layer_norm},
      {"gelu", test_gelu},
      {"rope", test_rope},
      {"silu_adamw", test_silu_adamw},
      {"quantize", test_quantize},
      {"indexing", test_indexing},
      {"svd_own", [] { test_svd(false); }},
      {"svd_libraries", [] { test_svd(true); }},
      {"qr", test_qr},
      {"allocator", test_allocator},
  };
  int count = 0;
  if (gc_device_count(&count) != GC_OK || count == 0) {
    std::printf("no CUDA device: %s\n", gc_last_error());
    std::printf("skipping all %zu test groups; run this program on a machine with an NVIDIA GPU\n", tests.size());
    std::printf("0 passed, 0 failed, %zu skipped\n", tests.size());
    return 0;
  }
  if (gc_init(0) != GC_OK) {
    std::printf("gc_init failed: %s\n0 passed, 1 failed\n", gc_last_error());
    return 1;
  }
  gc_device_info info{};
  gc_library_info libs{};
  gc_device_info_get(&info);
  gc_library_info_get(&libs);
  std::printf("device: %s (sm_%d%d, %.1f GiB); cuBLAS %s; cuSOLVER %s\n", info.name, info.major, info.minor,
              info.total_memory / 1073741824.0, libs.cublas_loaded ? libs.cublas_path : "not loaded",
              libs.cusolver_loaded ? libs.cusolver_path : "not loaded");
  for (const Test &t : tests) {
    if (g_filter && !std::strstr(t.name, g_filter)) continue;
    t.run();
    if (gc_synchronize() != GC_OK) report(std::string(t.name) + " left the stream clean", false, gc_last_error());
  }
  gc_shutdown();
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
