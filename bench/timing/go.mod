module gatehousebench/timing

go 1.26.8
