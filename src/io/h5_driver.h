/*
 * h5_driver.h — the HDF5 file driver Axial writes stores through (h5_driver.c).
 *
 * Why a driver of our own: HDF5 1.10 cannot survive a failed write. When a write fails inside
 * HDF5 (a full disk, a quota, a file size limit), H5Fclose fails too, the file id is left half
 * closed, and the process segfaults at exit in HDF5's own cleanup, whatever the caller does next.
 * This driver never reports a write failure to HDF5: the first failure (errno) is recorded in an
 * ax_h5_disk the caller owns, and that write and every later one are kept in memory instead, so
 * HDF5 reads back what it wrote and closes the file cleanly. The caller checks the record after
 * each operation, stops writing, and discards the temporary file.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_H5_DRIVER_H
#define AXIAL_IO_H5_DRIVER_H

#include <hdf5.h>

/* What the driver reports to the owner of a file it writes; must outlive the HDF5 file. */
typedef struct ax_h5_disk {
    int error; /* errno of the first failed open, write, truncate or close (ENOMEM: the driver's own
                  memory at open); 0 while none failed */
    int fd; /* the file, open read-write: the driver works on duplicates of it, never opening a file by
               name (the file may have none, and a name in a directory others write could be a
               different file by then); the owner closes it */
} ax_h5_disk;

/* Whether ax_h5_driver_fapl gives Axial's driver (HDF5 1.10) or HDF5's default one, which opens the
 * file by the name given to H5Fcreate. */
#define AX_H5_OWN_DRIVER (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10)

/* A file access property list (H5Pclose it) that writes through the driver, reporting to *disk.
 * Where the driver is not built (an HDF5 other than 1.10, whose driver interface differs), a plain
 * list: HDF5's default driver, with the failure described above. Returns -1 if HDF5 fails. */
hid_t ax_h5_driver_fapl(ax_h5_disk *disk);

#endif /* AXIAL_IO_H5_DRIVER_H */
