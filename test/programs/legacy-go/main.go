// Writes a Go program's own profiles in the runtime's text form (debug=1, what
// /debug/pprof/NAME?debug=1 serves): heap, goroutine, threadcreate, mutex and block,
// into the directory given as the first argument. leakscope's legacy readers are
// compared with go tool pprof on them.
package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var keep [][]byte

//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 96))
	}
}

//go:noinline
func allocLarge(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 256<<10))
	}
}

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		b := make([]byte, 4096)
		b[0] = byte(i)
	}
}

func contend(mu *sync.Mutex, wg *sync.WaitGroup) {
	defer wg.Done()
	for i := 0; i < 200; i++ {
		mu.Lock()
		time.Sleep(50 * time.Microsecond)
		mu.Unlock()
	}
}

func blockForever(ch chan struct{}) { <-ch }

func main() {
	dir := os.Args[1]
	runtime.MemProfileRate = 4096
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	allocSmall(5000)
	allocLarge(40)
	churn(20000)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go contend(&mu, &wg)
	}
	wg.Wait()
	ch := make(chan struct{})
	for i := 0; i < 7; i++ {
		go blockForever(ch)
	}
	time.Sleep(20 * time.Millisecond)
	runtime.GC()
	for _, name := range []string{"heap", "goroutine", "threadcreate", "mutex", "block"} {
		f, err := os.Create(filepath.Join(dir, name+".txt"))
		if err != nil {
			panic(err)
		}
		if err := pprof.Lookup(name).WriteTo(f, 1); err != nil {
			panic(err)
		}
		f.Close()
	}
	runtime.KeepAlive(keep)
}
