# MSA parsing and feature-store build throughput (issue 4 targets).
add_executable(bench_features_io features_io.c bench_util.c)
target_link_libraries(bench_features_io PRIVATE axial ${AXIAL_BLAS_LIBRARIES} m)
target_include_directories(bench_features_io PRIVATE ${AXIAL_CBLAS_INCLUDE})
target_compile_options(bench_features_io PRIVATE ${AXIAL_C_WARNINGS})
target_compile_definitions(bench_features_io PRIVATE _POSIX_C_SOURCE=200809L)
