// Package synth generates realistic synthetic business data: customers,
// accounts, cards, merchants and devices; card transactions with labelled
// fraud; supply-chain shipments; and employee metrics.
//
// Every generator is deterministic from a seed and gives the same output
// whatever the number of workers: the work is split into fixed-size chunks
// (ChunkRows rows), each chunk draws from its own random stream derived from
// (seed, chunk index), and chunks are merged in index order with at most two
// chunks per worker in memory.
//
// The entry points:
//   - Generate streams a job of any kind as CSV, JSON Lines or Parquet;
//     GenerateFile and GenerateFileResumable write it atomically to a file,
//     the latter continuing a killed job where it stopped.
//   - Transactions and StreamTransactions give the rows themselves;
//     LoadSQLite loads them into the database, resumably.
//   - WriteEntities writes the customers, accounts, cards, devices and
//     merchants a transactions job refers to.
//   - TargetSample draws rows from the configured laws alone, the yardstick
//     of package quality; package detect is the baseline fraud detector and
//     package jobs runs jobs for the web app.
package synth
