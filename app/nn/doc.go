// Package nn is a small neural-network library on gonum: dense layers,
// activations, policy heads (categorical, diagonal Gaussian, tanh-squashed
// Gaussian), manual backpropagation with batched BLAS products, Adam as
// PyTorch implements it, gradient-norm clipping, orthogonal initialisation,
// Polyak averaging and versioned serialisation.
//
// Matrices hold one sample per row. Layers cache what their backward pass
// needs during Forward, so Backward must follow the Forward it belongs to.
// Gradients accumulate into Param.Grad until ZeroGrad, as in PyTorch.
package nn
