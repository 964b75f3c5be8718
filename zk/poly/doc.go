// Package poly provides the number-theoretic transforms and polynomial
// helpers of the STARK prover: NTT/INTT over the base field and its cubic
// extension, coset transforms, low-degree extension and Horner evaluation.
// Interpolating trace columns and extending them onto the evaluation domain
// dominate proving time, so the transforms use cached twiddle tables, lazy
// modular reduction, cache-blocked butterflies and all available cores,
// while every exported function keeps natural-order, fully reduced values.
package poly
