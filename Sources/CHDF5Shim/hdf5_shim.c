#include "hdf5_shim.h"
#include <stdio.h>
#include <string.h>

hid_t porter_h5p_default(void) { return H5P_DEFAULT; }
hid_t porter_h5s_all(void) { return H5S_ALL; }
hid_t porter_h5e_default(void) { return H5E_DEFAULT; }
hid_t porter_h5p_file_access(void) { return H5P_FILE_ACCESS; }
hid_t porter_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
hid_t porter_h5p_link_create(void) { return H5P_LINK_CREATE; }
unsigned porter_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
unsigned porter_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
unsigned porter_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
hid_t porter_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
hid_t porter_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
hid_t porter_h5t_native_int16(void) { return H5T_NATIVE_INT16; }
hid_t porter_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
hid_t porter_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
hid_t porter_h5t_native_uint32(void) { return H5T_NATIVE_UINT32; }
hid_t porter_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
hid_t porter_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
hid_t porter_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
hid_t porter_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
hid_t porter_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
hid_t porter_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
hid_t porter_h5t_std_i8le(void) { return H5T_STD_I8LE; }
hid_t porter_h5t_std_u8le(void) { return H5T_STD_U8LE; }
hid_t porter_h5t_std_i16le(void) { return H5T_STD_I16LE; }
hid_t porter_h5t_std_u16le(void) { return H5T_STD_U16LE; }
hid_t porter_h5t_std_i32le(void) { return H5T_STD_I32LE; }
hid_t porter_h5t_std_u32le(void) { return H5T_STD_U32LE; }
hid_t porter_h5t_std_i64le(void) { return H5T_STD_I64LE; }
hid_t porter_h5t_std_u64le(void) { return H5T_STD_U64LE; }
hid_t porter_h5t_c_s1(void) { return H5T_C_S1; }
size_t porter_h5t_variable(void) { return H5T_VARIABLE; }

void porter_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

struct porter_error_text { char *buf; size_t cap; size_t used; int count; };

static herr_t porter_walk(unsigned n, const H5E_error2_t *err, void *data) {
    struct porter_error_text *t = (struct porter_error_text *)data;
    (void)n;
    t->count++;
    if (t->cap == 0 || t->used + 1 >= t->cap) return 0;
    int w = snprintf(t->buf + t->used, t->cap - t->used, "%s%s: %s", t->used ? "; " : "",
                     err->func_name ? err->func_name : "?", err->desc ? err->desc : "");
    if (w > 0) {
        size_t room = t->cap - t->used - 1;
        t->used += ((size_t)w < room) ? (size_t)w : room;
    }
    return 0;
}

int porter_h5_error_text(char *buf, size_t cap) {
    struct porter_error_text t = { buf, cap, 0, 0 };
    if (cap) buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, porter_walk, &t);
    H5Eclear2(H5E_DEFAULT);
    return t.count;
}

hid_t porter_h5t_make_f16le(void) {
    // IEEE binary16: sign bit 15, exponent bits 10..14 (bias 15), mantissa bits 0..9.
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

hid_t porter_h5t_make_bf16le(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 7, 8, 0, 7) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 127) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

ssize_t porter_h5f_open_object_count(hid_t file) { return H5Fget_obj_count(file, H5F_OBJ_ALL); }
