// Register-blocked kernels take their row count R as a compile-time constant, so that each
// always-inline body is specialised (its accumulators stay in registers) for 1…6 rows.
#ifndef EK_ROW_DISPATCH_H
#define EK_ROW_DISPATCH_H

/// Calls `kernel(R, ...)` with R the constant equal to `rows` (6, 5, 4, 3, 2, else 1).
#define EK_FOR_ROWS(rows, kernel, ...)                                                                \
    switch (rows) {                                                                                   \
    case 6: kernel(6, __VA_ARGS__); break;                                                            \
    case 5: kernel(5, __VA_ARGS__); break;                                                            \
    case 4: kernel(4, __VA_ARGS__); break;                                                            \
    case 3: kernel(3, __VA_ARGS__); break;                                                            \
    case 2: kernel(2, __VA_ARGS__); break;                                                            \
    default: kernel(1, __VA_ARGS__); break;                                                           \
    }

#endif
