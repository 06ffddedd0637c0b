"""Pure Numba kernels: NumPy arrays in, NumPy arrays out. No pandas, no I/O, no Ray."""
