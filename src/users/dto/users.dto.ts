import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
} from 'class-validator';
import { PageMetaDto, PageQueryDto } from '../../common/page.dto.js';
import { MAX_NAMESPACE_LENGTH, NAME_COMPONENT } from '../names.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../passwords.js';
import type { UserEntity } from '../user.entity.js';

const lower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

/** A user or organization name: one repository-name component, compared case-insensitively. */
export function NameProperty(description: string) {
  return applyDecorators(
    ApiProperty({
      description,
      example: 'alice',
      pattern: NAME_COMPONENT.source,
      maxLength: MAX_NAMESPACE_LENGTH,
    }),
    Transform(lower),
    IsString(),
    Length(1, MAX_NAMESPACE_LENGTH),
    Matches(NAME_COMPONENT, {
      message: '$property must be lower-case letters and digits separated by ".", "_", "__" or "-"',
    }),
  );
}

export class PasswordFields {
  @ApiProperty({
    minLength: MIN_PASSWORD_LENGTH,
    maxLength: MAX_PASSWORD_LENGTH,
    format: 'password',
  })
  @IsString()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
  password: string;
}

export class RegisterUserDto extends PasswordFields {
  @NameProperty("User name; also the user's namespace")
  username: string;

  @ApiPropertyOptional({ format: 'email', maxLength: 320 })
  @IsOptional()
  @IsEmail()
  @MaxLength(320)
  email?: string;

  @ApiPropertyOptional({ maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  displayName?: string;
}

export class CreateUserDto extends RegisterUserDto {
  @ApiPropertyOptional({ description: 'Make the user a system administrator', default: false })
  @IsOptional()
  @IsBoolean()
  isAdmin?: boolean;
}

export class UpdateProfileDto {
  @ApiPropertyOptional({
    type: String,
    maxLength: 128,
    nullable: true,
    description: 'null clears it',
  })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  displayName?: string | null;

  @ApiPropertyOptional({
    type: String,
    format: 'email',
    maxLength: 320,
    nullable: true,
    description: 'null clears it',
  })
  @IsOptional()
  @IsEmail()
  @MaxLength(320)
  email?: string | null;
}

export class ChangePasswordDto {
  @ApiProperty({ format: 'password' })
  @IsString()
  @MaxLength(MAX_PASSWORD_LENGTH)
  currentPassword: string;

  @ApiProperty({
    minLength: MIN_PASSWORD_LENGTH,
    maxLength: MAX_PASSWORD_LENGTH,
    format: 'password',
  })
  @IsString()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
  newPassword: string;
}

export class AdminUpdateUserDto {
  @ApiPropertyOptional({ description: 'false deactivates the user and ends their sessions' })
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ description: 'System administrator' })
  @IsOptional()
  @IsBoolean()
  isAdmin?: boolean;

  @ApiPropertyOptional({
    minLength: MIN_PASSWORD_LENGTH,
    maxLength: MAX_PASSWORD_LENGTH,
    format: 'password',
    description: "Sets a new password and ends the user's sessions",
  })
  @IsOptional()
  @IsString()
  @Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
  password?: string;
}

export class UserSearchQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Part of a user name or display name' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;
}

export class UserDto {
  @ApiProperty({ example: 'alice' })
  username: string;

  @ApiProperty({ nullable: true, type: String })
  displayName: string | null;

  @ApiProperty()
  createdAt: Date;

  @ApiPropertyOptional({
    description: 'Only for the user themself and administrators',
    format: 'uuid',
  })
  id?: string;

  @ApiPropertyOptional({
    description: 'Only for the user themself and administrators',
    nullable: true,
    type: String,
  })
  email?: string | null;

  @ApiPropertyOptional({ description: 'Only for the user themself and administrators' })
  isAdmin?: boolean;

  @ApiPropertyOptional({ description: 'Only for the user themself and administrators' })
  active?: boolean;

  static of(u: UserEntity, full: boolean): UserDto {
    const dto: UserDto = {
      username: u.username,
      displayName: u.displayName,
      createdAt: u.createdAt,
    };
    if (full)
      Object.assign(dto, { id: u.id, email: u.email, isAdmin: u.isAdmin, active: u.active });
    return dto;
  }
}

export class UserPageDto extends PageMetaDto {
  @ApiProperty({ type: [UserDto] })
  items: UserDto[];
}
