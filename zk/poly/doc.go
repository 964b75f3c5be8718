// Package poly provides the number-theoretic transforms and polynomial
// helpers of the STARK prover: NTT/INTT over the base field and its cubic
// extension, coset transforms, low-degree extension and Horner evaluation.
// Interpolating trace columns and extending them onto the evaluation domain
// dominate proving time, so the transforms use cached twiddle tables, lazy
// modular reduction, cache-blocked butterflies and all available cores,
// while every exported function keeps natural-order, fully reduced values.
// All functions are safe for concurrent use; slice lengths must be powers
// of two (an empty slice is a no-op), and anything else panics.
package poly
