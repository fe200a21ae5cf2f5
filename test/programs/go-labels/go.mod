module leakscope.test/golabels

go 1.19
