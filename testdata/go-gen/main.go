// Command gogen writes real Go runtime profiles for leakscope's fixtures: a heap profile before
// and after a "leak" phase (for -diff_base), the allocs profile, a goroutine profile with blocked
// goroutines and a CPU profile. Standard library only; run by scripts/gen-fixtures.sh.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

var (
	sessions = map[int][]byte{}
	cache    = map[string]*entry{}
	garbage  [][]byte
	blocked  = make(chan struct{})
)

type entry struct {
	key  string
	body []byte
}

// newSession is the first leak: a global map that is never cleaned.
//
//go:noinline
func newSession(id int) {
	sessions[id] = make([]byte, 1024+id%7*128)
}

// render is small enough to be inlined into (*store).get, so -lines shows an inlined frame.
func render(key string) []byte {
	return []byte(strings.Repeat(key, 64))
}

type store struct{}

// get is the second leak: a cache with no eviction.
//
//go:noinline
func (s *store) get(key string) *entry {
	if e, ok := cache[key]; ok {
		return e
	}
	e := &entry{key: key, body: render(key)}
	cache[key] = e
	return e
}

// churn allocates short-lived garbage: visible in alloc_space, gone from inuse_space.
//
//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		garbage = append(garbage, make([]byte, 4096))
		if len(garbage) > 16 {
			garbage = garbage[:0]
		}
	}
}

//go:noinline
func handleRequest(i int, s *store) {
	newSession(i)
	s.get(fmt.Sprintf("product-%d", i%500))
	churn(4)
	if i%50 == 0 {
		go waitForever(i)
	}
}

// waitForever is the goroutine leak: blocked on a channel nobody closes.
//
//go:noinline
func waitForever(i int) {
	<-blocked
	_ = i
}

func phase(from, to int) {
	s := &store{}
	for i := from; i < to; i++ {
		handleRequest(i, s)
	}
}

// burn keeps the CPU busy in two distinguishable functions.
//
//go:noinline
func hashLoop(d time.Duration) [32]byte {
	var h [32]byte
	for end := time.Now().Add(d); time.Now().Before(end); {
		for k := 0; k < 1000; k++ {
			h = sha256.Sum256(h[:])
		}
	}
	return h
}

//go:noinline
func spin(d time.Duration) int {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for k := 0; k < 100000; k++ {
			x = x*31 + k
		}
	}
	return x
}

func write(dir, name string, f func(*os.File) error) {
	out, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := out.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	dir := flag.String("out", ".", "output directory")
	cpu := flag.Duration("cpu", 1500*time.Millisecond, "CPU profile duration")
	flag.Parse()
	runtime.MemProfileRate = 4096

	heap := func(name string) {
		runtime.GC()
		write(*dir, name, func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) })
	}

	phase(0, 2000)
	heap("heap.base.pb.gz")
	phase(2000, 6000)
	heap("heap.pb.gz")
	write(*dir, "allocs.pb.gz", func(f *os.File) error { return pprof.Lookup("allocs").WriteTo(f, 0) })
	write(*dir, "goroutine.pb.gz", func(f *os.File) error { return pprof.Lookup("goroutine").WriteTo(f, 0) })

	write(*dir, "cpu.pb.gz", func(f *os.File) error {
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); hashLoop(*cpu) }()
		go func() { defer wg.Done(); spin(*cpu * 2 / 3) }()
		wg.Wait()
		pprof.StopCPUProfile()
		return nil
	})
	runtime.KeepAlive(sessions)
	runtime.KeepAlive(cache)
}
