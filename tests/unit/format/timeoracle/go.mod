module skiff.test/timeoracle

go 1.19

require github.com/docker/docker v28.5.2+incompatible
