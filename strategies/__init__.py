"""Trading strategies, one module each: parameter spec plus signal and indicator kernels."""
