#pragma once
// Eigen views of latte's row-major float matrices (CPU backend only; Eigen stays out of every
// header a .cu file includes).

#include <Eigen/Core>

#include "../../core/tensor_view.hpp"

namespace latte::cpu {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<row_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using const_matrix_map = Eigen::Map<const row_matrix, Eigen::Unaligned, Eigen::OuterStride<>>;

inline matrix_map eigen_map(float* data, index_t rows, index_t cols, index_t row_stride) {
  return matrix_map(data, rows, cols, Eigen::OuterStride<>(row_stride));
}
inline const_matrix_map eigen_map(const float* data, index_t rows, index_t cols, index_t row_stride) {
  return const_matrix_map(data, rows, cols, Eigen::OuterStride<>(row_stride));
}
inline matrix_map eigen_map(const matrix_view<float>& m) {
  return eigen_map(m.data(), m.extent(0), m.extent(1), m.stride(0));
}
inline const_matrix_map eigen_map(const matrix_view<const float>& m) {
  return eigen_map(m.data(), m.extent(0), m.extent(1), m.stride(0));
}

}  // namespace latte::cpu
