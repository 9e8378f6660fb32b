//go:build race

package tests

// raceDetector is true in a -race build, where SQLite (C translated to
// Go) runs several times slower: tests that only measure volume do less.
const raceDetector = true
