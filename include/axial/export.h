/*
 * export.h — the AX_API symbol-visibility macro used by every public Axial function.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * The library is built with -fvisibility=hidden, so only functions marked AX_API are exported from
 * the shared object. Consumers need not define anything: for the static library the attribute is
 * harmless on ELF platforms.
 */
#ifndef AXIAL_EXPORT_H
#define AXIAL_EXPORT_H

#if defined(_WIN32)
#  if defined(AXIAL_BUILDING_SHARED)
#    define AX_API __declspec(dllexport)
#  elif defined(AXIAL_USING_SHARED)
#    define AX_API __declspec(dllimport)
#  else
#    define AX_API
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define AX_API __attribute__((visibility("default")))
#else
#  define AX_API
#endif

#endif /* AXIAL_EXPORT_H */
