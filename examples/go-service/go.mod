module example.com/leakscope-goservice

go 1.19
