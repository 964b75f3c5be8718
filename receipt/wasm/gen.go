package wasm

//go:generate go run ./gen
