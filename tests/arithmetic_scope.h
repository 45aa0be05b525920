// A QuantArithmetic (kernels/cpu/gemm.h) for one scope of a test, the one
// before it again after it.
#pragma once

#include "kernels/cpu/gemm.h"

namespace deskpilot::testing {

class ScopedArithmetic {
 public:
  explicit ScopedArithmetic(kernels::QuantArithmetic a) : before_(kernels::quant_arithmetic()) {
    kernels::set_quant_arithmetic(a);
  }
  ~ScopedArithmetic() { kernels::set_quant_arithmetic(before_); }
  ScopedArithmetic(const ScopedArithmetic&) = delete;
  ScopedArithmetic& operator=(const ScopedArithmetic&) = delete;

 private:
  kernels::QuantArithmetic before_;
};

}  // namespace deskpilot::testing
