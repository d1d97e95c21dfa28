// Package synth generates realistic synthetic business data: customers,
// accounts, cards, merchants and devices; card transactions with labelled
// fraud; supply-chain shipments; and employee metrics.
//
// Every generator is deterministic from a seed and gives the same output
// whatever the number of workers: the work is split into fixed-size chunks,
// each chunk draws from its own random stream derived from (seed, chunk
// index), and chunks are merged in index order.
package synth
