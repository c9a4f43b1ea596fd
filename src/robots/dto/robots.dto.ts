import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDate,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { MAX_NAMESPACE_LENGTH, NAME_COMPONENT } from '../../common/name-grammar.js';
import { GRANT_LEVELS, type GrantLevel } from '../../repos/permissions.js';
import { MAX_ROBOT_GRANTS } from '../robot-rules.js';

export class RobotGrantDto {
  @ApiProperty({
    description:
      'A repository name or pattern of the namespace, with or without the namespace (`web/*` or ' +
      '`acme/web/*`); `*` matches any characters, "/" included',
    example: 'acme/web/*',
    maxLength: 255,
  })
  @IsString()
  @MaxLength(255)
  repository: string;

  @ApiProperty({ enum: GRANT_LEVELS, example: 'read' })
  @IsIn(GRANT_LEVELS)
  level: GrantLevel;
}

export class RobotNamespaceParamDto {
  @ApiProperty({ description: 'User or organization name' })
  @IsString()
  @MaxLength(MAX_NAMESPACE_LENGTH)
  namespace: string;
}

export class RobotParamDto extends RobotNamespaceParamDto {
  @ApiProperty({ description: "The robot's name inside the namespace (`ci` for `acme+ci`)" })
  @IsString()
  @MaxLength(MAX_NAMESPACE_LENGTH)
  name: string;
}

export class CreateRobotDto {
  @ApiProperty({
    description: 'Name inside the namespace; the robot is then `<namespace>+<name>`',
    example: 'ci',
    maxLength: MAX_NAMESPACE_LENGTH,
  })
  @IsString()
  @MaxLength(MAX_NAMESPACE_LENGTH)
  @Matches(NAME_COMPONENT, {
    message: 'name must be lower-case letters and digits, separated by ".", "_", "__" or "-"',
  })
  name: string;

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiProperty({ type: [RobotGrantDto], maxItems: MAX_ROBOT_GRANTS })
  @IsArray()
  @ArrayMaxSize(MAX_ROBOT_GRANTS)
  @ValidateNested({ each: true })
  @Type(() => RobotGrantDto)
  grants: RobotGrantDto[];

  @ApiPropertyOptional({
    description: 'When the robot stops working; never when absent',
    type: Date,
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date;
}

export class UpdateRobotDto {
  @ApiPropertyOptional({ description: 'A disabled robot is refused everywhere' })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({ description: 'null: never expires', type: Date, nullable: true })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  expiresAt?: Date | null;

  @ApiPropertyOptional({ type: [RobotGrantDto], maxItems: MAX_ROBOT_GRANTS })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ROBOT_GRANTS)
  @ValidateNested({ each: true })
  @Type(() => RobotGrantDto)
  grants?: RobotGrantDto[];

  @ApiPropertyOptional({ type: String, maxLength: 1024, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string | null;
}

export class RobotDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'ci' })
  name: string;

  @ApiProperty({ description: 'The name to sign in with', example: 'acme+ci' })
  fullName: string;

  @ApiProperty({ example: 'acme' })
  namespace: string;

  @ApiProperty({ type: String, nullable: true })
  description: string | null;

  @ApiProperty({ type: [RobotGrantDto], description: 'Grants, with full repository names' })
  grants: RobotGrantDto[];

  @ApiProperty()
  disabled: boolean;

  @ApiProperty({ type: Date, nullable: true })
  expiresAt: Date | null;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty({ type: Date, nullable: true, description: "Last use of the robot's key" })
  lastUsedAt: Date | null;
}

export class CreatedRobotDto extends RobotDto {
  @ApiProperty({
    description: "The robot's API key: shown only in this response",
    example: 'ak_0123456789abcdefghijABCDEFGHIJkl',
  })
  key: string;
}
